import t from 'tap'
import { planHttpRequest, type HttpBinding, type HttpPlan } from '../../../agent/http/plan-http-request'
import { parseRequestHead } from '../../../agent/http/parse-http-head'
import { buildTable } from './routing-table-fixture'

const table = buildTable([
  { name: 'web', vip: '127.77.0.10', ports: [{ port: 80, endpoints: [{ port: 9001 }] }, { port: 8080, endpoints: [{ port: 9002 }] }] },
  { name: 'api', namespace: 'prod', vip: '127.77.0.11', ports: [{ port: 8443, endpoints: [{ port: 9003 }] }] },
  { name: 'multi', vip: '127.77.0.12', ports: [{ port: 81, endpoints: [{ port: 1 }] }, { port: 82, endpoints: [{ port: 2 }] }] },
  { name: 'db', vip: '127.77.0.13', ports: [{ port: 5432, protocol: 'tcp', endpoints: [{ port: 5432 }] }] },
  { name: 'rpc', vip: '127.77.0.14', ports: [{ port: 50051, protocol: 'grpc', endpoints: [{ port: 50051 }] }] },
  { name: 'empty', vip: '127.77.0.15', ports: [{ port: 80, endpoints: [] }] },
])

const proxy: HttpBinding = { kind: 'proxy-endpoint' }

function plan(raw: string, binding: HttpBinding = proxy): HttpPlan {
  const r = parseRequestHead(Buffer.from(raw, 'latin1'))
  if (r.kind !== 'complete') throw new Error(`bad fixture head: ${JSON.stringify(r)}`)
  return planHttpRequest({ table, binding, head: r.head, clientAddress: '10.1.2.3', outstanding: () => 0, random: () => 0.5 })
}

t.test('routes by Host, absolute-form and VIP', async (t) => {
  const cases: [string, string, HttpBinding, string, number, number][] = [
    ['short name', 'GET / HTTP/1.1\r\nHost: web.mesh\r\n\r\n', proxy, 'default/web', 80, 9001],
    ['namespaced name, mixed case, trailing dot', 'GET / HTTP/1.1\r\nHost: WEB.Default.Mesh.\r\n\r\n', proxy, 'default/web', 80, 9001],
    ['explicit port', 'GET / HTTP/1.1\r\nHost: web.mesh:8080\r\n\r\n', proxy, 'default/web', 8080, 9002],
    ['only http port used without port', 'GET / HTTP/1.1\r\nHost: api.prod.mesh\r\n\r\n', proxy, 'prod/api', 8443, 9003],
    ['absolute-form overrides Host', 'GET http://web.mesh:8080/x HTTP/1.1\r\nHost: other\r\n\r\n', proxy, 'default/web', 8080, 9002],
    ['VIP as host', 'GET / HTTP/1.1\r\nHost: 127.77.0.10:8080\r\n\r\n', proxy, 'default/web', 8080, 9002],
    ['vip binding ignores Host', 'GET / HTTP/1.1\r\nHost: whatever\r\n\r\n', { kind: 'vip', vipPort: '127.77.0.11:8443' }, 'prod/api', 8443, 9003],
  ]
  for (const [name, raw, binding, service, port, target] of cases) {
    const p = plan(raw, binding)
    t.equal(p.kind, 'forward', name)
    if (p.kind !== 'forward') { t.comment(JSON.stringify(p)); continue }
    t.equal(p.port.service, service, `${name}: service`)
    t.equal(p.port.port, port, `${name}: port`)
    t.equal(p.endpoint.port, target, `${name}: endpoint`)
  }
})

t.test('rejections carry status and code', async (t) => {
  const cases: [string, string, HttpBinding, number, string, RegExp][] = [
    ['CONNECT', 'CONNECT web.mesh:80 HTTP/1.1\r\nHost: web.mesh:80\r\n\r\n', proxy, 405, 'NM_METHOD_NOT_ALLOWED', /forward proxy/],
    ['non-mesh host', 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', proxy, 404, 'NM_UNKNOWN_SERVICE', /not a mesh service/],
    ['non-mesh absolute-form', 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n', proxy, 404, 'NM_UNKNOWN_SERVICE', /not a mesh service/],
    ['unknown mesh service', 'GET / HTTP/1.1\r\nHost: nope.mesh\r\n\r\n', proxy, 404, 'NM_UNKNOWN_SERVICE', /nodemesh services/],
    ['unknown port', 'GET / HTTP/1.1\r\nHost: web.mesh:9999\r\n\r\n', proxy, 404, 'NM_UNKNOWN_PORT', /no port 9999/],
    ['ambiguous port', 'GET / HTTP/1.1\r\nHost: multi.mesh\r\n\r\n', proxy, 400, 'NM_AMBIGUOUS_PORT', /81, 82/],
    ['tcp port', 'GET / HTTP/1.1\r\nHost: db.mesh:5432\r\n\r\n', proxy, 400, 'NM_NOT_HTTP_PORT', /tcp/],
    ['tcp only service without port', 'GET / HTTP/1.1\r\nHost: db.mesh\r\n\r\n', proxy, 400, 'NM_NOT_HTTP_PORT', /no HTTP port/],
    ['grpc port', 'GET / HTTP/1.1\r\nHost: rpc.mesh:50051\r\n\r\n', proxy, 501, 'NM_PROTOCOL_UNSUPPORTED', /grpc/],
    ['no endpoints', 'GET / HTTP/1.1\r\nHost: empty.mesh\r\n\r\n', proxy, 503, 'NM_NO_HEALTHY_ENDPOINT', /no healthy endpoint/],
    ['https absolute-form', 'GET https://web.mesh/ HTTP/1.1\r\nHost: web.mesh\r\n\r\n', proxy, 400, 'NM_BAD_REQUEST', /http:\/\//],
    ['no host (HTTP/1.0)', 'GET / HTTP/1.0\r\n\r\n', proxy, 400, 'NM_BAD_REQUEST', /Host/],
    ['bad port', 'GET / HTTP/1.1\r\nHost: web.mesh:x\r\n\r\n', proxy, 400, 'NM_BAD_REQUEST', /port/],
    ['stale VIP', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { kind: 'vip', vipPort: '127.77.9.9:80' }, 404, 'NM_UNKNOWN_SERVICE', /resolve/],
    ['tcp VIP on the http path', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { kind: 'vip', vipPort: '127.77.0.13:5432' }, 400, 'NM_NOT_HTTP_PORT', /tcp/],
  ]
  for (const [name, raw, binding, status, code, message] of cases) {
    const p = plan(raw, binding)
    t.equal(p.kind, 'reject', name)
    if (p.kind !== 'reject') continue
    t.equal(p.status, status, `${name}: status`)
    t.equal(p.code, code, `${name}: code`)
    t.match(p.message, message, `${name}: message`)
  }
  const p = plan('GET / HTTP/1.1\r\nHost: empty.mesh\r\n\r\n')
  t.equal(p.kind === 'reject' && p.port?.service, 'default/empty', '503 names the service port for metrics')
})

t.test('the upstream head', async (t) => {
  const p = plan('GET http://web.mesh:8080/x?y=1 HTTP/1.1\r\nHost: other\r\nProxy-Connection: Keep-Alive\r\nProxy-Authorization: Basic eA==\r\n' +
    'X-Case: Keep Me \r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nConnection: X-Drop, keep-alive\r\nX-Drop: 1\r\n' +
    'Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-Sum\r\nUpgrade: h2c\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n')
  if (p.kind !== 'forward') return t.fail(JSON.stringify(p))
  t.equal(p.head.toString('latin1'),
    'GET /x?y=1 HTTP/1.1\r\nHost: web.mesh:8080\r\nX-Case: Keep Me \r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n' +
    'X-Forwarded-For: 1.1.1.1, 10.1.2.3\r\nX-Forwarded-Proto: http\r\n\r\n')
  t.equal(p.idempotent, true)

  const post = plan('POST /p HTTP/1.1\r\nHost: web.mesh\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding, content-length\r\nX-Forwarded-Proto: https\r\n\r\n')
  if (post.kind !== 'forward') return t.fail(JSON.stringify(post))
  t.equal(post.head.toString('latin1'), 'POST /p HTTP/1.1\r\nHost: web.mesh\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n',
    'framing fields survive being named in Connection; an existing X-Forwarded-Proto is kept')
  t.equal(post.idempotent, false)

  const ws = plan('GET /ws HTTP/1.1\r\nHost: web.mesh\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\n\r\n')
  if (ws.kind !== 'forward') return t.fail(JSON.stringify(ws))
  t.equal(ws.head.toString('latin1'), 'GET /ws HTTP/1.1\r\nHost: web.mesh\r\nSec-WebSocket-Key: abc\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
})

t.test('the endpoint is chosen by load', async (t) => {
  const two = buildTable([{ name: 'web', ports: [{ port: 80, endpoints: [{ port: 1 }, { port: 2 }] }] }])
  const r = parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: web.mesh\r\n\r\n'))
  if (r.kind !== 'complete') return t.fail('fixture')
  for (const busy of [1, 2]) {
    const p = planHttpRequest({
      table: two, binding: proxy, head: r.head, clientAddress: '1.2.3.4',
      outstanding: (target) => (target.endsWith(`:${busy}`) ? 10 : 0), random: Math.random,
    })
    t.equal(p.kind === 'forward' && p.endpoint.port, busy === 1 ? 2 : 1, `avoids the endpoint with ${busy} busy`)
  }
})
