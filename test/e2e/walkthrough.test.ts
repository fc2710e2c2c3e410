/**
 * The README walk-through, end to end on the embedded registry: an agent process, services
 * and endpoints made with the CLI through the agent's API, reached with curl through the VIP
 * and through the HTTP proxy endpoint, resolved with dig, TCP echo with half-close, a
 * WebSocket-style upgrade, and the metrics and access logs they leave. Needs a build
 * (`npm test` builds first).
 */
import net from 'node:net'
import t from 'tap'
import { startEchoBackend, startHttpBackend } from '../helpers/backends'
import { curl, dig } from '../helpers/commands'
import { httpGet, listenerKeys, startAgent, waitFor, waitForEndpoints, waitForListener } from '../helpers/agent-process'

t.test('walk-through on the embedded registry', async (t) => {
  const agent = await startAgent({ node: 'node-a' })
  const web = await startHttpBackend('web-1')
  const echo = await startEchoBackend()
  t.teardown(async () => { await agent.stop(); await web.close(); await echo.close() })

  const created = await agent.cli(['service', 'create', 'web', '--port', '8080/http', '--port', '9000/tcp'])
  t.equal(created.code, 0, `service create: ${created.stderr}`)
  const services = JSON.parse((await agent.cli(['services', '-o', 'json'])).stdout) as Array<{ name: string; vip: string }>
  const vip = services.find((s) => s.name === 'web')?.vip as string
  t.match(vip, /^127\.77\.\d+\.\d+$/, 'VIP from the default loopback CIDR')

  const reg = await agent.cli(['register', 'web', '--address', '127.0.0.1', '--port', `8080=${web.port}`, '--port', `9000=${echo.port}`])
  t.equal(reg.code, 0, `register: ${reg.stderr}`)
  const endpoints = JSON.parse((await agent.cli(['endpoints', 'web', '-o', 'json'])).stdout) as Array<{ id: string; lease?: string; node: string }>
  t.equal(endpoints.length, 1)
  t.equal(endpoints[0]?.lease, 'node-a', 'registered through the agent: the agent lease keeps it')
  await waitForEndpoints(agent, 'default/web', 1)

  t.test('curl through the VIP', async (t) => {
    const r = await curl([`http://${vip}:8080/hello?x=1`, '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'])
    t.equal(r.status, 200)
    const seen = JSON.parse(r.body) as Record<string, string>
    t.equal(seen.url, '/hello?x=1')
    t.equal(seen.xff, '127.0.0.1', 'X-Forwarded-For carries the client address')
    t.equal(seen.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'traceparent propagated')
  })

  t.test('curl through the HTTP proxy endpoint, by Host and as HTTP_PROXY', async (t) => {
    const byHost = await curl([`http://127.0.0.1:${agent.ports.httpProxy}/by-host`, '-H', 'Host: web.mesh:8080'])
    t.equal(byHost.status, 200)
    t.equal((JSON.parse(byHost.body) as Record<string, string>).url, '/by-host')
    const byProxy = await curl(['-x', `http://127.0.0.1:${agent.ports.httpProxy}`, 'http://web.default.mesh:8080/as-proxy'])
    t.equal(byProxy.status, 200)
    t.equal((JSON.parse(byProxy.body) as Record<string, string>).url, '/as-proxy', 'absolute-form rewritten to origin-form')
    const unknown = await curl([`http://127.0.0.1:${agent.ports.httpProxy}/`, '-H', 'Host: nope.mesh'])
    t.equal(unknown.status, 404)
    t.match(unknown.headers, /x-nodemesh-error: NM_UNKNOWN_SERVICE/i)
    const notMesh = await curl(['-x', `http://127.0.0.1:${agent.ports.httpProxy}`, 'http://example.com/'])
    t.equal(notMesh.status, 404, 'never an open relay to non-mesh hosts')
  })

  t.test('dig resolves mesh names, SRV and NXDOMAIN', async (t) => {
    const a = await dig('127.0.0.1', agent.ports.dns, ['web.mesh', 'A', '+short'])
    t.equal(a.stdout.trim(), vip)
    const tcp = await dig('127.0.0.1', agent.ports.dns, ['web.default.mesh', 'A', '+short', '+tcp'])
    t.equal(tcp.stdout.trim(), vip, 'over TCP too')
    const srv = await dig('127.0.0.1', agent.ports.dns, ['_tcp-9000._tcp.web.default.mesh', 'SRV', '+short'])
    t.match(srv.stdout.trim(), /^0 0 9000 web\.default\.mesh\.$/)
    const nx = await dig('127.0.0.1', agent.ports.dns, ['nope.mesh', 'A'])
    t.match(nx.stdout, /status: NXDOMAIN/)
  })

  t.test('TCP through a tcp port, byte for byte, half-close honoured', async (t) => {
    const payload = Buffer.alloc(256 * 1024, 'nodemesh')
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ host: vip, port: 9000, allowHalfOpen: true })
      const chunks: Buffer[] = []
      s.on('data', (d: Buffer) => chunks.push(d))
      s.on('end', () => { resolve(Buffer.concat(chunks)); s.end() })
      s.on('error', reject)
      s.end(payload)
    })
    t.ok(got.equals(payload), 'echo came back whole after our write side was closed')
  })

  t.test('WebSocket-style upgrade passes through', async (t) => {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: vip, port: 8080 })
      let buf = ''
      let upgraded = false
      s.setEncoding('utf8')
      s.on('data', (d: string) => {
        buf += d
        if (!upgraded && buf.includes('\r\n\r\n')) {
          upgraded = true
          if (!buf.startsWith('HTTP/1.1 101')) return reject(new Error(`no 101: ${buf}`))
          buf = ''
          s.write('frames both ways')
        } else if (upgraded && buf === 'frames both ways') { s.destroy(); resolve(buf) }
      })
      s.on('error', reject)
      s.write(`GET /ws HTTP/1.1\r\nHost: web.mesh\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    t.equal(reply, 'frames both ways')
  })

  t.test('a service with no endpoint answers 503 naming the reason', async (t) => {
    t.equal((await agent.cli(['service', 'create', 'lonely', '--port', '8081/http'])).code, 0)
    const services = JSON.parse((await agent.cli(['services', '-o', 'json'])).stdout) as Array<{ name: string; vip: string }>
    const lonely = services.find((s) => s.name === 'lonely')?.vip as string
    await waitForListener(agent, `${lonely}:8081`)
    const r = await curl([`http://${lonely}:8081/`])
    t.equal(r.status, 503)
    t.match(r.headers, /x-nodemesh-error: NM_NO_HEALTHY_ENDPOINT/i)
  })

  t.test('metrics, access logs and admin views', async (t) => {
    const metrics = (await httpGet(`http://127.0.0.1:${agent.ports.metrics}/metrics`)).body
    t.match(metrics, /nodemesh_requests_total\{[^}]*destination_service="web\.default\.mesh"[^}]*response_code="200"[^}]*\} [1-9]/)
    t.match(metrics, /nodemesh_request_duration_seconds_bucket\{/)
    t.match(metrics, /nodemesh_tcp_sent_bytes_total\{[^}]*\} [1-9]/)
    t.match(metrics, /nodemesh_tcp_received_bytes_total\{[^}]*\} [1-9]/)
    t.match(metrics, /nodemesh_tcp_connections_opened_total\{[^}]*\} [1-9]/)
    t.match(metrics, /nodemesh_registry_revision [1-9]/)
    t.match(metrics, /nodemesh_dns_queries_total\{/)
    const access = agent.logs.filter((r) => r.type === 'access')
    t.ok(access.some((r) => r.status === 200 && r.path === '/hello?x=1'), 'one access record per request')
    t.ok(access.some((r) => Number(r.bytes_in ?? r.bytesIn ?? 0) > 0 && String(r.service ?? '').includes('web')), 'an access record for the TCP connection')
    const routes = JSON.parse((await httpGet(`http://127.0.0.1:${agent.ports.admin}/debug/routes`)).body) as { services: Array<{ service: string }> }
    t.ok(routes.services.some((s) => s.service === 'default/web'))
    const snap = JSON.parse((await httpGet(`http://127.0.0.1:${agent.ports.admin}/debug/snapshot`)).body) as { services: Record<string, unknown> }
    t.ok(snap.services['default/web'])
  })

  t.test('deregister and delete take effect', async (t) => {
    const id = endpoints[0]?.id as string
    t.equal((await agent.cli(['deregister', 'web', id])).code, 0)
    await waitForEndpoints(agent, 'default/web', 0)
    t.equal((await curl([`http://${vip}:8080/`])).status, 503)
    t.equal((await agent.cli(['service', 'delete', 'web'])).code, 0)
    await waitFor(async () => !(await listenerKeys(agent)).some((k) => k.startsWith(`${vip}:`)), 'listeners of the deleted service closed')
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: vip, port: 8080 })
      s.on('connect', () => { s.destroy(); resolve('connected') })
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    })
    t.equal(refused, 'ECONNREFUSED')
  })
})
