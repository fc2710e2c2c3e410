import t from 'tap'
import { Writable } from 'node:stream'
import { batchedWrite } from '../../../agent/http/write-batch'

/** A stream that records each write call it gets: one entry per _write or _writev. */
function recorder(highWaterMark = 16 * 1024): { stream: Writable; calls: string[][] } {
  const calls: string[][] = []
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) { calls.push([chunk.toString()]); cb() },
    writev(chunks, cb) { calls.push(chunks.map((c) => (c.chunk as Buffer).toString())); cb() },
  })
  return { stream, calls }
}

t.test('writes made in one batch of events leave together after it', async (t) => {
  const a = recorder()
  const b = recorder()
  batchedWrite(a.stream, Buffer.from('a1'))
  batchedWrite(b.stream, Buffer.from('b1'))
  batchedWrite(a.stream, Buffer.from('a2'))
  t.same(a.calls, [], 'nothing is written while the batch runs')
  await new Promise((r) => setImmediate(r))
  t.same(a.calls, [['a1', 'a2']], 'the two writes to one stream go in one call, in order')
  t.same(b.calls, [['b1']])
  t.equal(a.stream.writableCorked, 0, 'the stream is left uncorked')
  batchedWrite(a.stream, Buffer.from('a3'))
  await new Promise((r) => setImmediate(r))
  t.same(a.calls, [['a1', 'a2'], ['a3']], 'the next batch is written on its own')
})

t.test('a full buffer still says so, and drain follows the flush', async (t) => {
  const { stream } = recorder(4)
  t.equal(batchedWrite(stream, Buffer.from('12345')), false, 'over the high-water mark: false, so the producer pauses')
  await new Promise<void>((resolve) => stream.once('drain', resolve))
  t.pass('drain came')
})
