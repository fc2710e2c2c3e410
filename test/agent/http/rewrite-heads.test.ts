import t from 'tap'
import { parseResponseHead } from '../../../agent/http/parse-http-head'
import { buildClientResponseHead, type ClientConnectionHeader } from '../../../agent/http/rewrite-heads'

function res(raw: string) {
  const r = parseResponseHead(Buffer.from(raw, 'latin1'), 'GET')
  if (r.kind !== 'complete') throw new Error(JSON.stringify(r))
  return r.head
}

t.test('client response heads drop hop-by-hop fields and say how the connection goes on', async (t) => {
  const head = res('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\n' +
    'X-Internal: secret\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n')
  const cases: [ClientConnectionHeader, string][] = [
    ['none', ''],
    ['close', 'Connection: close\r\n'],
    ['keep-alive', 'Connection: keep-alive\r\n'],
  ]
  for (const [mode, extra] of cases) {
    t.equal(buildClientResponseHead(head, mode).toString('latin1'),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n${extra}\r\n`, mode)
  }
  const up = res('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n')
  t.equal(buildClientResponseHead(up, 'upgrade').toString('latin1'),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc\r\nConnection: Upgrade\r\n\r\n', '101 keeps Upgrade')
})

t.test('forwarded lines always end in CRLF, and body bytes follow the head', async (t) => {
  const head = res('HTTP/1.1 200 OK\nContent-Type: text/plain\nX-A: 1\r\nConnection: close\nContent-Length: 2\r\n\r\n')
  t.equal(buildClientResponseHead(head, 'none', Buffer.from('okEXTRA'), 2).toString('latin1'),
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok', 'bare LF endings are sent as CRLF; only bodyEnd bytes follow')
})

t.test('a field named in Connection is dropped whatever its case, other fields of that length are kept', async (t) => {
  const head = res('HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-SECRET: 1\r\nX-Public: 2\r\nx-secreT: 3\r\n\r\n')
  t.equal(buildClientResponseHead(head, 'none').toString('latin1'), 'HTTP/1.1 200 OK\r\nX-Public: 2\r\n\r\n')
})
