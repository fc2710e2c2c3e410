import t from 'tap'
import { parseRequestHead, parseResponseHead } from '../../../agent/http/parse-http-head'
import type { RequestHead, ResponseHead } from '../../../agent/http/http-head'

const b = (s: string) => Buffer.from(s, 'latin1')

function req(s: string, limits?: { maxHeadBytes: number; maxHeaders: number }): RequestHead {
  const r = parseRequestHead(b(s), limits)
  if (r.kind !== 'complete') throw new Error(`expected a complete head, got ${JSON.stringify(r)}`)
  return r.head
}

t.test('valid request heads', async (t) => {
  const cases: { name: string; head: string; check: Partial<Record<keyof RequestHead, unknown>> }[] = [
    { name: 'simple GET', head: 'GET /a?b=c HTTP/1.1\r\nHost: web.mesh\r\n\r\n',
      check: { method: 'GET', target: '/a?b=c', path: '/a?b=c', targetForm: 'origin', versionMinor: 1, keepAlive: true, host: 'web.mesh', framing: { kind: 'none' } } },
    { name: 'bare LF line endings', head: 'GET / HTTP/1.1\nHost: a\n\n', check: { host: 'a', keepAlive: true } },
    { name: 'leading empty lines skipped', head: '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', check: { method: 'GET' } },
    { name: 'content-length', head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n', check: { framing: { kind: 'length', length: 12 } } },
    { name: 'content-length zero means no body', head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n', check: { framing: { kind: 'none' } } },
    { name: 'repeated equal content-length', head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n', check: { framing: { kind: 'length', length: 5 } } },
    { name: 'chunked', head: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', check: { framing: { kind: 'chunked' } } },
    { name: 'gzip then chunked', head: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n', check: { framing: { kind: 'chunked' } } },
    { name: 'connection close', head: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', check: { keepAlive: false, connection: ['close'] } },
    { name: 'connection token list', head: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, X-Custom ,\t, CLOSE\r\nConnection: upGrade\r\n\r\n', check: { keepAlive: false, connection: ['keep-alive', 'x-custom', 'close', 'upgrade'] } },
    { name: 'content-length list with spaces', head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7 ,7,\t7\r\n\r\n', check: { framing: { kind: 'length', length: 7 } } },
    { name: 'content-length of 15 digits', head: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000000000\r\n\r\n', check: { framing: { kind: 'length', length: 1e14 } } },
    { name: 'HTTP/1.0 closes by default', head: 'GET / HTTP/1.0\r\n\r\n', check: { versionMinor: 0, keepAlive: false, host: undefined } },
    { name: 'HTTP/1.0 keep-alive', head: 'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', check: { keepAlive: true } },
    { name: 'upgrade', head: 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n', check: { upgrade: 'websocket' } },
    { name: 'upgrade header without connection token is not an upgrade', head: 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n', check: { upgrade: undefined } },
    { name: 'absolute-form', head: 'GET http://Web.Mesh:8080/x?y HTTP/1.1\r\nHost: web.mesh:8080\r\n\r\n',
      check: { targetForm: 'absolute', authority: 'Web.Mesh:8080', scheme: 'http', path: '/x?y' } },
    { name: 'absolute-form without path', head: 'GET http://web.mesh HTTP/1.1\r\nHost: web.mesh\r\n\r\n', check: { path: '/' } },
    { name: 'absolute-form with only a query', head: 'GET http://web.mesh?q=1 HTTP/1.1\r\nHost: web.mesh\r\n\r\n', check: { path: '/?q=1' } },
    { name: 'asterisk-form for OPTIONS', head: 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n', check: { targetForm: 'asterisk', path: '*' } },
    { name: 'authority-form for CONNECT', head: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', check: { targetForm: 'authority', authority: 'example.com:443' } },
    { name: 'extension method', head: 'PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n', check: { method: 'PURGE' } },
    { name: 'percent-encoded target', head: 'GET /a%20b HTTP/1.1\r\nHost: a\r\n\r\n', check: { path: '/a%20b' } },
    { name: 'expect 100-continue', head: 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n', check: { expectContinue: true } },
    { name: 'empty host allowed', head: 'GET / HTTP/1.1\r\nHost:\r\n\r\n', check: { host: '' } },
  ]
  for (const c of cases) {
    const h = req(c.head)
    for (const [k, v] of Object.entries(c.check)) t.same(h[k as keyof RequestHead], v, `${c.name}: ${k}`)
    t.equal(h.headLength, Buffer.byteLength(c.head, 'latin1'), `${c.name}: headLength`)
  }
})

t.test('header fields keep order, case and raw bytes; values are trimmed', async (t) => {
  const h = req('GET / HTTP/1.1\r\nHost: a\r\nX-Thing:  v1 \t\r\nx-thing:v2\r\nTraceparent: 00-abc-def-01\r\nX-Obs: caf\xe9\r\n\r\n')
  t.same(h.headers.map((f) => f.name), ['Host', 'X-Thing', 'x-thing', 'Traceparent', 'X-Obs'])
  t.same(h.headers.map((f) => f.value), ['a', 'v1', 'v2', '00-abc-def-01', 'caf\xe9'])
  t.equal(h.headers[1]!.raw, 'X-Thing:  v1 \t')
  t.equal(h.headers[2]!.lower, 'x-thing')
})

t.test('incomplete heads wait for more bytes', async (t) => {
  const full = 'POST /upload HTTP/1.1\r\nHost: web.mesh\r\nContent-Length: 3\r\n\r\n'
  for (let n = 0; n < full.length; n++) {
    const r = parseRequestHead(b(full.slice(0, n)))
    t.equal(r.kind, 'incomplete', `prefix of ${n} bytes`)
  }
  const r = parseRequestHead(b(full + 'abcGET'))
  t.equal(r.kind, 'complete')
  if (r.kind === 'complete') t.equal(r.head.headLength, full.length, 'body bytes are not part of the head')
})

t.test('malformed request heads are rejected with their status', async (t) => {
  const cases: [string, string, number, RegExp?][] = [
    ['CL and TE together', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /both/],
    ['differing Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 400, /differing/],
    ['differing Content-Length in a list', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n', 400, /differing/],
    ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', 400, /Content-Length/],
    ['hex Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n', 400, /Content-Length/],
    ['signed Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n', 400, /Content-Length/],
    ['empty Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n', 400, /Content-Length/],
    ['Content-Length list with an empty element', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n', 400, /Content-Length/],
    ['Content-Length with inner space', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n', 400, /Content-Length/],
    ['Content-Length of 16 digits', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000\r\n\r\n', 400, /Content-Length/],
    ['Content-Length with obs-text', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \xa05\r\n\r\n', 400, /Content-Length/],
    ['huge Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n', 400, /Content-Length/],
    ['TE not ending in chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400, /chunked/],
    ['TE identity', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n', 400, /chunked/],
    ['TE chunked twice', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /once/],
    ['TE obfuscated', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n', 400, /chunked/],
    ['TE empty', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n', 400, /Transfer-Encoding/],
    ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /HTTP\/1.0/],
    ['bare CR in a header value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n', 400, /bare CR/],
    ['bare CR as line ending', 'GET / HTTP/1.1\rHost: a\r\n\r\n', 400, /bare CR/],
    ['bare CR before head', '\rGET / HTTP/1.1\r\nHost: a\r\n\r\n', 400, /bare CR/],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  continued\r\n\r\n', 400, /folding/],
    ['obs-fold with tab', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tcontinued\r\n\r\n', 400, /folding/],
    ['NUL in header value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', 400, /NUL/],
    ['control char in header value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n', 400, /control/],
    ['DEL in header value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n', 400, /control/],
    ['control char in header name', 'GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: a\r\n\r\n', 400, /control/],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400, /whitespace/],
    ['tab before colon', 'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n', 400, /whitespace/],
    ['invalid header name char', 'GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n', 400, /header name/],
    ['empty header name', 'GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n', 400, /empty header name/],
    ['header without colon', 'GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n', 400, /colon/],
    ['invalid method token', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, /method/],
    ['lowercase http version', 'GET / http/1.1\r\nHost: a\r\n\r\n', 400, /version/],
    ['two spaces in request line', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['missing version (HTTP/0.9)', 'GET /\r\n\r\n', 400, /request line/],
    ['trailing space after version', 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n', 400, /version/],
    ['short version', 'GET / HTTP/1\r\nHost: a\r\n\r\n', 400, /version/],
    ['target with fragment', 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n', 400, /request-target/],
    ['target with backslash', 'GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n', 400, /request-target/],
    ['target with bad percent', 'GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n', 400, /request-target/],
    ['target with non-ASCII', 'GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n', 400, /request-target/],
    ['target with NUL', 'GET /a\x00 HTTP/1.1\r\nHost: a\r\n\r\n', 400, /NUL/],
    ['relative target', 'GET a/b HTTP/1.1\r\nHost: a\r\n\r\n', 400, /request-target/],
    ['asterisk for GET', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400, /OPTIONS/],
    ['absolute-form with userinfo', 'GET http://user@web.mesh/ HTTP/1.1\r\nHost: a\r\n\r\n', 400, /authority/],
    ['absolute-form without host', 'GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n', 400, /authority/],
    ['CONNECT without port', 'CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n', 400, /CONNECT/],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nX: y\r\n\r\n', 400, /Host/],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, /Host/],
    ['invalid Host', 'GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n', 400, /Host/],
    ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: evil@a\r\n\r\n', 400, /Host/],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', 505],
    ['HTTP/0.9 with version', 'GET / HTTP/0.9\r\nHost: a\r\n\r\n', 505],
  ]
  for (const [name, head, status, reason] of cases) {
    const r = parseRequestHead(b(head))
    t.equal(r.kind, 'error', `${name}: rejected`)
    if (r.kind !== 'error') continue
    t.equal(r.status, status, `${name}: status ${status}`)
    if (reason) t.match(r.reason, reason, `${name}: reason says why (${r.reason})`)
  }
})

t.test('head size and header count limits give 431', async (t) => {
  const limits = { maxHeadBytes: 1024, maxHeaders: 10 }
  const many = 'GET / HTTP/1.1\r\nHost: a\r\n' + Array.from({ length: 10 }, (_, i) => `X-${i}: v\r\n`).join('') + '\r\n'
  const r1 = parseRequestHead(b(many), limits)
  t.equal(r1.kind === 'error' && r1.status, 431, '11 header fields over a limit of 10')
  const ten = 'GET / HTTP/1.1\r\nHost: a\r\n' + Array.from({ length: 9 }, (_, i) => `X-${i}: v\r\n`).join('') + '\r\n'
  t.equal(parseRequestHead(b(ten), limits).kind, 'complete', 'exactly 10 header fields pass')
  const big = 'GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'v'.repeat(1100) + '\r\n\r\n'
  const r2 = parseRequestHead(b(big), limits)
  t.equal(r2.kind === 'error' && r2.status, 431, 'one long header line')
  const r3 = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'v'.repeat(1100)), limits)
  t.equal(r3.kind === 'error' && r3.status, 431, 'an unterminated head over the limit does not wait for more')
  const r4 = parseRequestHead(b('GET /' + 'a'.repeat(70 * 1024) + ' HTTP/1.1\r\nHost: a\r\n\r\n'))
  t.equal(r4.kind === 'error' && r4.status, 431, 'default limit is 64 KiB')
  const lines = 'GET / HTTP/1.1\r\nHost: a\r\n' + 'X: v\r\n'.repeat(100) + '\r\n'
  const r5 = parseRequestHead(b(lines))
  t.equal(r5.kind === 'error' && r5.status, 431, 'default limit is 100 header fields')
})

function res(s: string, method = 'GET'): ResponseHead {
  const r = parseResponseHead(b(s), method)
  if (r.kind !== 'complete') throw new Error(`expected a complete head, got ${JSON.stringify(r)}`)
  return r.head
}

t.test('response heads and their framing', async (t) => {
  const cases: [string, string, string, Partial<Record<keyof ResponseHead, unknown>>][] = [
    ['length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'GET', { status: 200, framing: { kind: 'length', length: 5 }, keepAlive: true, statusLineEnd: 15 }],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', { framing: { kind: 'chunked' }, keepAlive: true }],
    ['no length reads until close', 'HTTP/1.1 200 OK\r\n\r\n', 'GET', { framing: { kind: 'until-close' }, keepAlive: false }],
    ['TE without chunked reads until close', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'GET', { framing: { kind: 'until-close' }, keepAlive: false }],
    ['HEAD has no body', 'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n', 'HEAD', { framing: { kind: 'none' }, keepAlive: true }],
    ['204 has no body', 'HTTP/1.1 204 No Content\r\n\r\n', 'GET', { status: 204, framing: { kind: 'none' } }],
    ['304 has no body', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', 'GET', { framing: { kind: 'none' } }],
    ['100 continue', 'HTTP/1.1 100 Continue\r\n\r\n', 'POST', { status: 100, framing: { kind: 'none' } }],
    ['101 switching', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'GET', { status: 101, connection: ['upgrade'] }],
    ['connection close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n', 'GET', { keepAlive: false }],
    ['HTTP/1.0 default close', 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n', 'GET', { keepAlive: false, versionMinor: 0 }],
    ['HTTP/1.0 keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n', 'GET', { keepAlive: true }],
    ['empty reason without space', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', 'GET', { status: 200, framing: { kind: 'none' } }],
  ]
  for (const [name, head, method, check] of cases) {
    const h = res(head, method)
    for (const [k, v] of Object.entries(check)) t.same(h[k as keyof ResponseHead], v, `${name}: ${k}`)
  }
  const bad: [string, string][] = [
    ['bad version', 'HTTP/2.0 200 OK\r\n\r\n'],
    ['bad status', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['status 600', 'HTTP/1.1 600 OK\r\n\r\n'],
    ['CL and TE', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['differing CL', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['bare CR', 'HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n'],
    ['garbage', 'hello\r\n\r\n'],
  ]
  for (const [name, head] of bad) {
    const r = parseResponseHead(b(head), 'GET')
    t.equal(r.kind === 'error' && r.status, 502, `${name}: 502`)
  }
  t.equal(parseResponseHead(b('HTTP/1.1 200 OK\r\nContent-Le'), 'GET').kind, 'incomplete')
})
