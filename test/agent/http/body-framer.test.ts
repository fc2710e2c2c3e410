import t from 'tap'
import { BodyFramer } from '../../../agent/http/body-framer'
import type { BodyFraming } from '../../../agent/http/http-head'

const chunked: BodyFraming = { kind: 'chunked' }

/** Feeds `input` split into pieces of `step` bytes; returns consumed count, done and error. */
function feed(framing: BodyFraming, input: string, step: number) {
  const f = new BodyFramer()
  f.reset(framing)
  const buf = Buffer.from(input, 'latin1')
  let consumed = 0
  for (let i = 0; i < buf.length && !f.done; i += step) {
    const end = Math.min(buf.length, i + step)
    const n = f.consume(buf, i, end)
    consumed += n
    if (n < end - i) break
  }
  return { consumed, done: f.done, error: f.error }
}

t.test('message ends are found whatever the split', async (t) => {
  const cases: [string, BodyFraming, string, number][] = [
    ['length', { kind: 'length', length: 5 }, 'helloGET /', 5],
    ['chunked simple', chunked, '5\r\nhello\r\n0\r\n\r\nNEXT', 15],
    ['chunked several', chunked, '3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n', 28],
    ['chunked uppercase hex and extension', chunked, 'a;name=val\r\n0123456789\r\n0;x\r\n\r\nX', 31],
    ['chunked with trailers', chunked, '1\r\na\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\nZ', 27],
    ['chunked with bare LF', chunked, '1\na\n0\n\nZ', 7],
    ['chunked size with leading zeros', chunked, '0005\r\nhello\r\n0\r\n\r\n', 18],
  ]
  for (const [name, framing, input, end] of cases) {
    for (const step of [1, 2, 3, 7, 1000]) {
      const r = feed(framing, input, step)
      t.same(r, { consumed: end, done: true, error: undefined }, `${name}, pieces of ${step}`)
    }
  }
})

t.test('incomplete bodies are not done', async (t) => {
  for (const input of ['5\r\nhel', '5\r\nhello\r\n', '5\r\nhello\r\n0\r\n', '0\r\nX: 1\r\n', '0\r']) {
    const r = feed(chunked, input, 1)
    t.same(r, { consumed: input.length, done: false, error: undefined }, JSON.stringify(input))
  }
  t.equal(feed({ kind: 'length', length: 10 }, 'abc', 1).done, false)
})

t.test('malformed chunked bodies are refused', async (t) => {
  const cases: [string, RegExp][] = [
    ['x\r\n', /chunk size/],
    ['-1\r\n', /chunk size/],
    ['\r\n', /chunk size/],
    ['5\r\nhelloX\r\n', /longer than its size/],
    ['5\rX', /bare CR/],
    ['5\r\nhello\rX', /bare CR/],
    ['1;\x01\r\n', /control/],
    ['fffffffffffffff\r\n', /too large/],
    ['0\r\n folded\r\n\r\n', /folding/],
    ['0\r\nX: a\rb\r\n\r\n', /bare CR/],
    ['0\r\n\rX', /bare CR/],
  ]
  for (const [input, reason] of cases) {
    const r = feed(chunked, input, 1)
    t.equal(r.done, true, `${JSON.stringify(input)} stops`)
    t.match(r.error, reason, `${JSON.stringify(input)}: ${r.error}`)
    t.ok(r.consumed < input.length, 'the offending byte is not consumed')
  }
})

t.test('until-close and none', async (t) => {
  const f = new BodyFramer()
  f.reset({ kind: 'until-close' })
  const buf = Buffer.from('anything at all')
  t.equal(f.consume(buf, 0, buf.length), buf.length)
  t.equal(f.done, false)
  f.closed()
  t.equal(f.done, true)
  f.reset({ kind: 'none' })
  t.equal(f.done, true)
  t.equal(f.consume(buf, 0, buf.length), 0, 'no body bytes when there is no body')
})
