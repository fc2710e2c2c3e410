import t from 'tap'
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { promisify } from 'node:util'
import { freePort } from '../../helpers/free-port'
import { buildTable } from './routing-table-fixture'
import { rawExchange, splitResponses, startProxy } from './proxy-fixture'

const exec = promisify(execFile)

interface Seen { method: string; url: string; rawHeaders: string[]; body: Buffer }

/** A real HTTP backend that records what reached it and counts its connections. */
async function startBackend(handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void) {
  const seen: Seen[] = []
  let connections = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body })
      if (handler) return handler(req, res, body)
      const out = JSON.stringify({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, body: body.toString() })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
      res.end(out)
    })
  })
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port, seen, server,
    get connections() { return connections },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

function headerPairs(raw: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!])
  return out
}

const VIP = '127.77.0.1:80'

t.test('GET through a VIP binding with curl: keep-alive reuse and forwarded headers', async (t) => {
  const be = await startBackend()
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await be.close() })

  const url = `http://127.0.0.1:${px.port}/hello?x=1`
  const { stdout } = await exec('curl', ['-s', '--http1.1', '-H', 'X-Custom-Case: Value ', '-H',
    'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '-H', 'Connection: keep-alive, X-Hop', '-H', 'X-Hop: gone',
    '-H', 'Keep-Alive: timeout=5', '-H', 'TE: trailers', url, url, url, url, url])
  const bodies = stdout.match(/\{[^}]*\}/g)!.map((s) => JSON.parse(s) as { url: string; rawHeaders: string[] })
  t.equal(bodies.length, 5, 'five responses')
  t.equal(be.seen.length, 5, 'five requests reached the backend')
  t.ok(be.connections < 5, `upstream connections reused (${be.connections} for 5 requests)`)
  const h = headerPairs(be.seen[0]!.rawHeaders)
  const names = h.map(([n]) => n.toLowerCase())
  t.equal(be.seen[0]!.url, '/hello?x=1')
  t.ok(h.some(([n, v]) => n === 'X-Custom-Case' && v === 'Value'), 'header case preserved')
  t.ok(h.some(([n, v]) => n === 'traceparent' && v === '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), 'traceparent untouched')
  t.ok(h.some(([n, v]) => n === 'X-Forwarded-For' && v === '127.0.0.1'), 'X-Forwarded-For added')
  t.ok(h.some(([n, v]) => n === 'X-Forwarded-Proto' && v === 'http'), 'X-Forwarded-Proto added')
  for (const hop of ['connection', 'keep-alive', 'te', 'x-hop']) t.notOk(names.includes(hop), `${hop} removed`)

  // One access record and one metric per request.
  const access = px.logs.filter((l) => l.type === 'access')
  t.equal(access.length, 5)
  t.match(access[0], { method: 'GET', path: '/hello?x=1', status: 200, service: 'default/web', endpoint: `127.0.0.1:${be.port}`, client: '127.0.0.1' })
  t.ok((access[0]!.bytes_out as number) > 0 && (access[0]!.bytes_in as number) > 0, 'bytes counted')
  const metrics = await px.ctx.metrics.registry.metrics()
  t.match(metrics, /nodemesh_requests_total\{reporter="source",source_workload="unknown",source_principal="unknown",destination_service="web.default.mesh",destination_principal="unknown",response_code="200",request_protocol="http"\} 5/)
  t.match(metrics, /nodemesh_request_duration_seconds_count\{[^}]*destination_service="web.default.mesh"[^}]*response_code="200"[^}]*\} 5/)
})

t.test('Content-Length and chunked bodies both ways, raw client', async (t) => {
  const be = await startBackend((req, res, body) => {
    if (req.url === '/chunked-reply') {
      // No Content-Length: Node sends a chunked response.
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('part1-')
      setTimeout(() => res.end(`part2:${body.toString()}`), 20)
      return
    }
    res.writeHead(201, { 'content-length': body.length })
    res.end(body)
  })
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await be.close() })

  const cl = await rawExchange(px.port, 'POST /cl HTTP/1.1\r\nHost: web.mesh\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world')
  const r1 = splitResponses(cl)
  t.equal(r1[0]?.status, 201)
  t.equal(r1[0]?.body, 'hello world')
  t.equal(r1[0]?.headers.connection, 'close', 'the proxy announces the close')

  const chunkedReq = 'POST /chunked-reply HTTP/1.1\r\nHost: web.mesh\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
    '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n'
  const out = (await rawExchange(px.port, chunkedReq)).toString('latin1')
  t.match(out, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(out, /\r\nTransfer-Encoding: chunked\r\n/i, 'chunked response passed through')
  t.match(out, /6\r\npart1-\r\n/, 'chunk bytes forwarded as they are')
  t.match(out, /part2:hello world/, 'chunked request body reassembled by the backend')
  t.match(out, /0\r\n\r\n$/, 'terminating chunk forwarded')
  t.equal(be.seen[1]!.body.toString(), 'hello world')
})

t.test('20 MB streamed each way with checksums', async (t) => {
  const size = 20 * 1024 * 1024
  const payload = crypto.randomBytes(size)
  const digest = crypto.createHash('sha256').update(payload).digest('hex')
  const be = await startBackend((req, res, body) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-length': payload.length })
      // Several writes so the response arrives in many chunks.
      for (let off = 0; off < payload.length; off += 1 << 20) res.write(payload.subarray(off, off + (1 << 20)))
      res.end()
      return
    }
    const h = crypto.createHash('sha256').update(body).digest('hex')
    res.writeHead(200, { 'content-length': h.length })
    res.end(h)
  })
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await be.close() })

  // Upload with a chunked body from a raw socket, written in pieces.
  const up = await new Promise<string>((resolve, reject) => {
    const s = net.connect(px.port, '127.0.0.1')
    const got: Buffer[] = []
    s.on('data', (c: Buffer) => got.push(c))
    s.on('error', reject)
    s.on('close', () => resolve(Buffer.concat(got).toString('latin1')))
    s.write('PUT /up HTTP/1.1\r\nHost: web.mesh\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n')
    for (let off = 0; off < size; off += 256 * 1024) {
      const piece = payload.subarray(off, off + 256 * 1024)
      s.write(`${piece.length.toString(16)}\r\n`)
      s.write(piece)
      s.write('\r\n')
    }
    s.write('0\r\n\r\n')
  })
  t.match(up, new RegExp(`\r\n\r\n${digest}$`), 'backend received the exact 20 MB')

  // Download through curl.
  const { stdout } = await exec('sh', ['-c', `curl -s --http1.1 http://127.0.0.1:${px.port}/down | sha256sum`])
  t.equal(stdout.split(' ')[0], digest, 'client received the exact 20 MB')
})

t.test('pipelined requests are answered in order', async (t) => {
  const be = await startBackend((req, res) => {
    const delay = req.url === '/slow' ? 80 : 0
    setTimeout(() => {
      res.writeHead(200, { 'content-length': req.url!.length })
      res.end(req.url)
    }, delay)
  })
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await be.close() })

  const reqs = ['/slow', '/a', '/post', '/b'].map((p) => p === '/post'
    ? 'POST /post HTTP/1.1\r\nHost: w\r\nContent-Length: 4\r\n\r\nbody'
    : `GET ${p} HTTP/1.1\r\nHost: w\r\n\r\n`).join('') + 'GET /last HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n'
  const out = splitResponses(await rawExchange(px.port, reqs))
  t.same(out.map((r) => r.body), ['/slow', '/a', '/post', '/b', '/last'])
  t.equal(be.seen[2]!.body.toString(), 'body')
})

t.test('a client that half-closes after its request still gets the answer', async (t) => {
  const be = await startBackend()
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await be.close() })
  const out = splitResponses(await rawExchange(px.port, 'GET /x HTTP/1.1\r\nHost: w\r\n\r\nGET /y HTTP/1.1\r\nHost: w\r\n\r\n', { endAfterWrite: true }))
  t.same(out.map((r) => r.status), [200, 200])
  t.same(be.seen.map((s) => s.url), ['/x', '/y'])
})

t.test('malformed heads get their status and never reach the upstream', async (t) => {
  const be = await startBackend()
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP }, { headLimits: { maxHeadBytes: 4096, maxHeaders: 20 } })
  t.teardown(async () => { await px.close(); await be.close() })
  const cases: [string, string, number, string][] = [
    ['CL and TE', 'POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['differing CL', 'POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', 400, 'NM_BAD_REQUEST'],
    ['invalid CL', 'POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 5x\r\n\r\nhello', 400, 'NM_BAD_REQUEST'],
    ['TE not chunked-last', 'POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked, identity\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['bare CR', 'GET / HTTP/1.1\r\nHost: w\r\nX: a\rb\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: w\r\nX: a\r\n b\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['NUL', 'GET / HTTP/1.1\r\nHost: w\r\nX: a\x00\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : w\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['bad method token', 'GE@T / HTTP/1.1\r\nHost: w\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['bad target', 'GET /a b HTTP/1.1\r\nHost: w\r\n\r\n', 400, 'NM_BAD_REQUEST'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: w\r\n\r\n', 505, 'NM_HTTP_VERSION_UNSUPPORTED'],
    ['too many headers', 'GET / HTTP/1.1\r\nHost: w\r\n' + 'X: y\r\n'.repeat(25) + '\r\n', 431, 'NM_HEADERS_TOO_LARGE'],
    ['head too large', 'GET / HTTP/1.1\r\nHost: w\r\nX: ' + 'y'.repeat(5000) + '\r\n\r\n', 431, 'NM_HEADERS_TOO_LARGE'],
    ['bad chunk in first body bytes', 'POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'NM_BAD_REQUEST'],
  ]
  for (const [name, raw, status, code] of cases) {
    const out = splitResponses(await rawExchange(px.port, raw))
    t.equal(out.length, 1, `${name}: one response`)
    t.equal(out[0]?.status, status, `${name}: status ${status}`)
    t.equal(out[0]?.headers['x-nodemesh-error'], code, `${name}: ${code}`)
    t.equal(out[0]?.headers.connection, 'close', `${name}: connection closed`)
  }
  t.equal(be.seen.length, 0, 'nothing reached the backend')
  t.equal(be.connections, 0, 'not even a connection')
})

t.test('no endpoint: 503; refused endpoint: 502; refused then healthy: retried', async (t) => {
  const be = await startBackend()
  const dead = await freePort()
  const table = buildTable([
    { name: 'none', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [] }] },
    { name: 'dead', vip: '127.77.0.2', ports: [{ port: 80, endpoints: [{ port: dead }] }] },
    { name: 'mixed', vip: '127.77.0.3', ports: [{ port: 80, endpoints: [{ port: dead }, { port: be.port }] }] },
  ])
  const px = await startProxy(table, { kind: 'proxy-endpoint' })
  t.teardown(async () => { await px.close(); await be.close() })
  const get = (host: string, method = 'GET') => rawExchange(px.port, `${method} / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`).then((b) => splitResponses(b)[0]!)

  const none = await get('none.mesh')
  t.equal(none.status, 503)
  t.equal(none.headers['x-nodemesh-error'], 'NM_NO_HEALTHY_ENDPOINT')
  t.match(none.body, /NM_NO_HEALTHY_ENDPOINT: .*no healthy endpoint/)

  const refused = await get('dead.mesh')
  t.equal(refused.status, 502)
  t.equal(refused.headers['x-nodemesh-error'], 'NM_UPSTREAM_REFUSED')
  t.equal(refused.headers.connection, 'close')

  // Whichever endpoint p2c draws first, the request succeeds: a refused connect is retried on the other one.
  for (let i = 0; i < 6; i++) {
    t.equal((await get('mixed.mesh')).status, 200, `GET ${i} succeeds`)
    t.equal((await get('mixed.mesh', 'POST')).status, 200, `POST ${i} succeeds (never sent before the retry)`)
  }
  t.equal(px.ctx.load.size, 0, 'no outstanding load left behind')
  const metrics = await px.ctx.metrics.registry.metrics()
  t.match(metrics, /nodemesh_requests_total\{[^}]*destination_service="none.default.mesh"[^}]*response_code="503"[^}]*\} 1/)
})

t.test('a pooled connection the endpoint drops is retried on a fresh one (idempotent only)', async (t) => {
  // Answers the first request on each connection; a second one on the same connection is
  // dropped unanswered, as a server closing an idle keep-alive connection would.
  let conns = 0
  const server = net.createServer((s) => {
    conns++
    let served = false
    s.on('data', () => {
      if (served) return s.destroy()
      served = true
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await new Promise((r) => server.close(r)) })
  const req = (method: string) => rawExchange(px.port, `${method} / HTTP/1.1\r\nHost: w\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`).then((b) => splitResponses(b)[0])
  t.equal((await req('GET'))?.status, 200, 'first request opens a connection')
  t.equal((await req('GET'))?.status, 200, 'second request fails on the pooled connection and succeeds on a fresh one')
  t.equal(conns, 2)
  const post = await req('POST')
  t.equal(post?.status, 502, 'a POST is not sent twice')
  t.equal(post?.headers['x-nodemesh-error'], 'NM_UPSTREAM_REFUSED')
})

t.test('response head timeout gives 504', async (t) => {
  const server = net.createServer((s) => { s.on('data', () => {}) }) // reads, never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP }, { responseHeadTimeoutMs: 150 })
  t.teardown(async () => { await px.close(); server.closeAllConnections?.(); await new Promise((r) => server.close(r)) })
  const out = splitResponses(await rawExchange(px.port, 'GET / HTTP/1.1\r\nHost: w\r\n\r\n'))
  t.equal(out[0]?.status, 504)
  t.equal(out[0]?.headers['x-nodemesh-error'], 'NM_UPSTREAM_TIMEOUT')
})

t.test('100-continue, HEAD, 204 and read-until-close responses', async (t) => {
  const server = net.createServer((s) => {
    let buf = ''
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1')
      if (buf.startsWith('PUT') && buf.includes('\r\n\r\n') && !buf.includes('payload')) s.write('HTTP/1.1 100 Continue\r\n\r\n')
      else if (buf.startsWith('PUT') && buf.endsWith('payload')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone')
      else if (buf.startsWith('HEAD') && buf.endsWith('\r\n\r\n')) { s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'); buf = '' }
      else if (buf.startsWith('GET /204') && buf.endsWith('\r\n\r\n')) { s.write('HTTP/1.1 204 No Content\r\n\r\n'); buf = '' }
      else if (buf.startsWith('GET /close') && buf.endsWith('\r\n\r\n')) s.end('HTTP/1.0 200 OK\r\n\r\nuntil the end')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await new Promise((r) => server.close(r)) })

  const { stdout: put } = await exec('curl', ['-s', '-i', '--max-time', '20', '--http1.1', '-X', 'PUT', '-H', 'Expect: 100-continue', '--data-binary', 'payload', `http://127.0.0.1:${px.port}/put`])
  t.match(put, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/, 'interim response forwarded before the final one')
  t.match(put, /done$/)

  const raw = await rawExchange(px.port, 'HEAD /h HTTP/1.1\r\nHost: w\r\n\r\nGET /204 HTTP/1.1\r\nHost: w\r\n\r\nGET /close HTTP/1.1\r\nHost: w\r\n\r\n')
  const text = raw.toString('latin1')
  t.match(text, /^HTTP\/1\.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP\/1\.1 204 No Content\r\n\r\nHTTP\/1\.0 200 OK\r\nConnection: close\r\n\r\nuntil the end$/,
    'HEAD and 204 carry no body; a response without length runs until close and closes the client too')
})

t.test('WebSocket-style upgrade splices both ways with half-close', async (t) => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let head = ''
    const onData = (c: Buffer) => {
      head += c.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      s.removeListener('data', onData)
      t.match(head, /\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n/, 'upgrade headers forwarded')
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      const early = head.slice(end + 4)
      if (early) s.write(`echo:${early}`)
      s.on('data', (d: Buffer) => s.write(`echo:${d.toString('latin1')}`))
      s.on('end', () => s.end('bye'))
    }
    s.on('data', onData)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await new Promise((r) => server.close(r)) })

  const got = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ port: px.port, host: '127.0.0.1', allowHalfOpen: true })
    let text = ''
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1')
      if (text.includes('echo:ping') && !text.includes('echo:pong')) s.write('pong')
      else if (text.includes('echo:pong')) s.end() // half-close: the server still answers 'bye'
    })
    s.on('error', reject)
    s.on('close', () => resolve(text))
    s.write('GET /ws HTTP/1.1\r\nHost: web.mesh\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n')
    setTimeout(() => s.write('ping'), 20)
  })
  t.match(got, /^HTTP\/1\.1 101 Switching Protocols\r\n/)
  t.match(got, /\r\nConnection: Upgrade\r\n/)
  t.match(got, /echo:ping.*echo:pong.*bye$/s, 'bytes flow both ways and the reply after half-close arrives')
})

t.test('HTTP proxy endpoint: Host routing, absolute-form with curl -x, non-mesh hosts refused', async (t) => {
  const web = await startBackend()
  const api = await startBackend()
  const table = buildTable([
    { name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: web.port }] }, { port: 8080, endpoints: [{ port: api.port }] }] },
  ])
  const px = await startProxy(table, { kind: 'proxy-endpoint' })
  t.teardown(async () => { await px.close(); await web.close(); await api.close() })
  const code = async (args: string[]) => (await exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %header{x-nodemesh-error}', '--http1.1', ...args])).stdout

  t.equal(await code(['-H', 'Host: web.mesh', `http://127.0.0.1:${px.port}/by-host`]), '200 ')
  t.equal(await code(['-H', 'Host: WEB.default.mesh:8080', `http://127.0.0.1:${px.port}/by-host-port`]), '200 ')
  t.equal(await code(['-x', `http://127.0.0.1:${px.port}`, 'http://web.mesh/abs']), '200 ')
  t.equal(await code(['-x', `http://127.0.0.1:${px.port}`, 'http://web.default.mesh:8080/abs-port?q=1']), '200 ')
  t.equal(await code(['-x', `http://127.0.0.1:${px.port}`, 'http://example.com/']), '404 NM_UNKNOWN_SERVICE')
  t.equal(await code(['-H', 'Host: nope.mesh', `http://127.0.0.1:${px.port}/`]), '404 NM_UNKNOWN_SERVICE')
  const connect = splitResponses(await rawExchange(px.port, 'CONNECT web.mesh:80 HTTP/1.1\r\nHost: web.mesh:80\r\n\r\n'))
  t.equal(connect[0]?.status, 405)
  t.equal(connect[0]?.headers['x-nodemesh-error'], 'NM_METHOD_NOT_ALLOWED')

  t.same(web.seen.map((s) => s.url), ['/by-host', '/abs'])
  t.same(api.seen.map((s) => s.url), ['/by-host-port', '/abs-port?q=1'], 'absolute-form rewritten to origin-form')
  const absHost = headerPairs(api.seen[1]!.rawHeaders).find(([n]) => n.toLowerCase() === 'host')
  t.equal(absHost?.[1], 'web.default.mesh:8080', 'Host set from the absolute-form authority')
  t.notOk(headerPairs(web.seen[1]!.rawHeaders).some(([n]) => n.toLowerCase() === 'proxy-connection'), 'Proxy-Connection removed')
})

t.test('a rejected request without a body keeps the connection for the next one', async (t) => {
  const be = await startBackend()
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port: be.port }] }] }])
  const px = await startProxy(table, { kind: 'proxy-endpoint' })
  t.teardown(async () => { await px.close(); await be.close() })
  const out = splitResponses(await rawExchange(px.port, 'GET / HTTP/1.1\r\nHost: nope.mesh\r\n\r\nGET /ok HTTP/1.1\r\nHost: web.mesh\r\nConnection: close\r\n\r\n'))
  t.same(out.map((r) => r.status), [404, 200])
})

t.test('a malformed chunk in the middle of a streamed body closes both connections', async (t) => {
  let upstreamClosed = false
  const server = net.createServer((s) => {
    s.on('data', () => {})
    s.on('close', () => { upstreamClosed = true })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const table = buildTable([{ name: 'web', vip: '127.77.0.1', ports: [{ port: 80, endpoints: [{ port }] }] }])
  const px = await startProxy(table, { kind: 'vip', vipPort: VIP })
  t.teardown(async () => { await px.close(); await new Promise((r) => server.close(r)) })
  const out = await new Promise<Buffer>((resolve) => {
    const s = net.connect(px.port, '127.0.0.1')
    const got: Buffer[] = []
    s.on('data', (c: Buffer) => got.push(c))
    s.on('error', () => {})
    s.on('close', () => resolve(Buffer.concat(got)))
    s.write('POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    setTimeout(() => s.write('zz\r\n'), 50)
  })
  t.equal(out.length, 0, 'no response could be framed')
  await new Promise((r) => setTimeout(r, 20))
  t.ok(upstreamClosed, 'upstream connection closed too')
  t.match(px.logs.find((l) => l.type === 'access'), { status: 400 })
})
