import t from 'tap'
import { HeadWriter } from '../../../agent/http/head-writer'

t.test('lines are copied with CRLF, text as it is, and the body follows', async (t) => {
  const src = Buffer.from('A: 1\r\nB: 2\nC: 3\r\nD: 4\r\n', 'latin1')
  const w = new HeadWriter().start()
  w.text('GET / HTTP/1.1\r\n')
  w.line(src, 0, 4) // A
  w.line(src, 6, 10) // B, after CRLF: same run
  w.line(src, 11, 15) // C, after a bare LF: a new run
  w.line(src, 17, 21) // D
  w.text('\r\n')
  t.equal(w.finish(Buffer.from('bodyXX'), 4).toString('latin1'), 'GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\nbody')
})

t.test('skipped lines break the run; the writer is reusable and grows past its first size', async (t) => {
  const src = Buffer.from('A: 1\r\nB: 2\r\nC: 3\r\n', 'latin1')
  const w = new HeadWriter()
  w.start().line(src, 0, 4)
  w.line(src, 12, 16)
  t.equal(w.finish().toString('latin1'), 'A: 1\r\nC: 3\r\n', 'B is not copied')
  const big = 'x'.repeat(40_000)
  w.start().text(big)
  w.line(src, 6, 10)
  t.equal(w.finish().toString('latin1'), `${big}B: 2\r\n`)
  w.start().text('small\r\n')
  t.equal(w.finish().toString('latin1'), 'small\r\n', 'a fresh head after a big one starts empty')
})
