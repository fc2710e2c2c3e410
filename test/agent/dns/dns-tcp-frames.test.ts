import t from 'tap'
import { DnsFrameReader, frameDnsMessage } from '../../../agent/dns/dns-tcp-frames'

t.test('a message goes out behind its two-byte length', async (t) => {
  t.same([...frameDnsMessage(Buffer.from([7, 8, 9]))], [0, 3, 7, 8, 9])
  t.same([...frameDnsMessage(Buffer.alloc(0))], [0, 0])
})

t.test('the reader yields whole messages however the stream is cut', async (t) => {
  const a = Buffer.from('first message')
  const b = Buffer.from('second')
  const stream = Buffer.concat([frameDnsMessage(a), frameDnsMessage(b)])

  t.same(new DnsFrameReader().push(stream).map(String), ['first message', 'second'], 'two in one chunk')

  const reader = new DnsFrameReader()
  const got: string[] = []
  for (const byte of stream) got.push(...reader.push(Buffer.from([byte])).map(String))
  t.same(got, ['first message', 'second'], 'one byte at a time')

  const split = new DnsFrameReader()
  t.same(split.push(stream.subarray(0, 5)), [], 'a partial message waits')
  t.same(split.push(stream.subarray(5)).map(String), ['first message', 'second'])
})

t.test('messages are copies, not views of the stream buffer', async (t) => {
  const chunk = frameDnsMessage(Buffer.from('abc'))
  const [message] = new DnsFrameReader().push(chunk)
  chunk.fill(0)
  t.equal(String(message), 'abc')
})
