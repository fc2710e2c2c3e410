/**
 * Two hosts on one machine, without privileges: agents on distinct loopback addresses
 * (127.0.10.1 and 127.0.10.2) sharing a real Redis and a real CA (`nodemesh ca serve`).
 * Agent A joins with a one-time token, agent B with an offline node bundle. Workloads
 * registered on B are reached from A through the mTLS tunnel, and B authorizes every
 * connection and request: allowed and denied HTTP and TCP, with the metrics and access-log
 * records they leave. Needs a build (`npm test` builds first).
 */
import net from 'node:net'
import t from 'tap'
import { certsOf, httpGet, policiesIn, runCli, startAgent, waitFor } from '../helpers/agent-process'
import { startEchoBackend, startHttpBackend } from '../helpers/backends'
import { startCa } from '../helpers/ca-process'
import { curl } from '../helpers/commands'
import { freePort } from '../helpers/free-port'
import { haveRedisServer, startRedis } from '../helpers/redis-server'

const HOST_A = '127.0.10.1'
const HOST_B = '127.0.10.2'
const TD = 'nodemesh.local'

/** Sends `payload`, half-closes, and collects what comes back until the peer closes. */
function tcpExchange(host: string, port: number, payload: Buffer): Promise<{ data: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, allowHalfOpen: true })
    const chunks: Buffer[] = []
    s.on('data', (d: Buffer) => chunks.push(d))
    s.on('end', () => s.end())
    s.on('close', () => resolve({ data: Buffer.concat(chunks) }))
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(chunks), error: err.code ?? err.message }))
    s.end(payload)
  })
}

if (!haveRedisServer()) {
  t.skip('redis-server is not installed (apt-get install redis-server)')
} else {
  t.test('two hosts: tunnel, identities and authorization at the destination', async (t) => {
    const redis = await startRedis()
    const ca = await startCa(redis.url)
    const env = { NODEMESH_REDIS_URL: redis.url }
    const web = await startHttpBackend('web-on-b', HOST_B)
    const echo = await startEchoBackend(HOST_B)
    t.teardown(async () => { await web.close(); await echo.close(); await ca.stop(); await redis.stop() })

    // Services first, so that agent A (started first) holds the VIP listeners of this host.
    t.equal((await runCli(['service', 'create', 'web', '--port', '8180/http'], env)).code, 0)
    t.equal((await runCli(['service', 'create', 'echo', '--port', '9180/tcp'], env)).code, 0)
    const vips = Object.fromEntries((JSON.parse((await runCli(['services', '-o', 'json'], env)).stdout) as Array<{ name: string; vip: string }>).map((s) => [s.name, s.vip]))

    const a = await startAgent({
      node: 'node-a', redisUrl: redis.url,
      extraArgs: ['--local-address', HOST_A, '--tunnel-address', `${HOST_A}:${await freePort(HOST_A)}`,
        '--join-token', await ca.joinToken('node-a'), '--ca-address', ca.address, '--ca-bundle', ca.bundle],
    })
    t.teardown(() => a.stop())
    const b = await startAgent({
      node: 'node-b', redisUrl: redis.url,
      extraArgs: ['--local-address', HOST_B, '--tunnel-address', `${HOST_B}:${await freePort(HOST_B)}`,
        '--node-credential', await ca.issueNode('node-b'), '--ca-address', ca.address],
    })
    t.teardown(() => b.stop())

    // Workloads on host B, registered through B's agent (its lease, its node).
    t.equal((await b.cli(['register', 'web', '--address', HOST_B, '--port', String(web.port)])).code, 0)
    t.equal((await b.cli(['register', 'echo', '--address', HOST_B, '--port', String(echo.port)])).code, 0)
    await waitFor(async () => (await certsOf(b)).includes(`spiffe://${TD}/ns/default/sa/web`) && (await certsOf(b)).includes(`spiffe://${TD}/ns/default/sa/echo`), 'B holds the workload certificates', 20_000)
    await waitFor(async () => (await certsOf(a)).includes(`spiffe://${TD}/node/node-a`), 'A joined with its token', 20_000)

    t.test('HTTP from host A reaches the workload on host B through the tunnel', async (t) => {
      await waitFor(async () => (await curl([`http://${vips.web}:8180/ping`])).status === 200, 'first request through the tunnel', 20_000)
      for (let i = 0; i < 20; i++) {
        const r = await curl([`http://${vips.web}:8180/n/${i}`])
        t.equal(r.status, 200)
        t.equal((JSON.parse(r.body) as { backend: string; url: string }).url, `/n/${i}`)
      }
      const seen = JSON.parse((await curl([`http://${vips.web}:8180/xff`])).body) as { xff: string; backend: string }
      t.equal(seen.backend, 'web-on-b')
      t.equal(seen.xff, '127.0.0.1', 'X-Forwarded-For names the client, added once by the source agent')
      const access = b.logs.filter((r) => r.type === 'access' && r.path === '/xff')
      t.equal(access.length, 1, 'B logged the request it delivered')
      t.match(access[0], { reporter: 'destination', source: `spiffe://${TD}/node/node-a`, destination: `spiffe://${TD}/ns/default/sa/web` })
      t.match(a.logs.find((r) => r.type === 'access' && r.path === '/xff'), { reporter: 'source', source: `spiffe://${TD}/node/node-a` }, 'A logged it too, as the source')
    })

    t.test('TCP from host A to host B, byte for byte, half-close honoured', async (t) => {
      const payload = Buffer.alloc(512 * 1024, 'tunnel')
      const r = await tcpExchange(vips.echo as string, 9180, payload)
      t.equal(r.error, undefined)
      t.ok(r.data.equals(payload), 'the echo came back whole after our write side closed')
    })

    t.test('policies are enforced at the destination', async (t) => {
      const allow = await runCli(['policy', 'allow', '--to', 'web', '--from-identity', `spiffe://${TD}/node/node-a`, '--method', 'GET', '--name', 'web-get-from-a'], env)
      t.equal(allow.code, 0, allow.stderr)
      const deny = await runCli(['policy', 'deny', '--to', 'web', '--path', '/admin/*', '--name', 'no-admin'], env)
      t.equal(deny.code, 0, deny.stderr)
      const denyTcp = await runCli(['policy', 'deny', '--to', 'echo', '--from-identity', `spiffe://${TD}/node/node-a`, '--name', 'no-echo-from-a'], env)
      t.equal(denyTcp.code, 0, denyTcp.stderr)
      await waitFor(async () => (await policiesIn(b)).length === 3, 'B has the policies', 20_000)

      t.equal((await curl([`http://${vips.web}:8180/ok`])).status, 200, 'GET from node-a allowed')
      const post = await curl(['-X', 'POST', '--data', 'x', `http://${vips.web}:8180/ok`])
      t.equal(post.status, 403, 'POST matches no ALLOW policy')
      t.match(post.headers, /x-nodemesh-error: NM_AUTHZ_DENIED/i)
      for (const path of ['/admin/keys', '/public/../admin/keys', '//admin/keys', '/admin%2Fkeys', '/x/%2e%2e/admin/keys']) {
        const r = await curl(['--path-as-is', `http://${vips.web}:8180${path}`])
        t.equal(r.status, 403, `${path} denied`)
        t.match(r.body, /no-admin/, `${path}: the body names the policy`)
      }
      const tcp = await tcpExchange(vips.echo as string, 9180, Buffer.from('hello'))
      t.equal(tcp.data.length, 0, 'a denied TCP connection carries nothing')
      t.ok(tcp.error === 'ECONNRESET' || tcp.error === undefined, `and is reset or closed (${tcp.error})`)

      const metrics = (await httpGet(`http://127.0.0.1:${b.ports.metrics}/metrics`)).body
      t.match(metrics, /nodemesh_authz_decisions_total\{decision="deny",policy="no-admin"\} [1-9]/)
      t.match(metrics, /nodemesh_authz_decisions_total\{decision="allow",policy="web-get-from-a"\} [1-9]/)
      t.match(metrics, /nodemesh_authz_decisions_total\{decision="deny",policy="no-echo-from-a"\} [1-9]/)
      t.match(metrics, /nodemesh_certificate_expiry_seconds\{identity="spiffe:\/\/nodemesh\.local\/ns\/default\/sa\/web"\} [1-9]/)
      t.match(metrics, /^nodemesh_tunnel_inbound_sessions_accepted_total [1-9]/m, 'B counts the tunnel sessions A opened to it')
      const metricsA = (await httpGet(`http://127.0.0.1:${a.ports.metrics}/metrics`)).body
      t.match(metricsA, /^nodemesh_tunnel_outbound_sessions [1-9]/m, 'A holds pooled sessions to B')
      const denied = b.logs.find((r) => r.type === 'access' && r.protocol === 'tcp' && r.error === 'NM_AUTHZ_DENIED')
      t.match(denied, { source: `spiffe://${TD}/node/node-a`, service: 'default/echo' }, 'the denied TCP connection is in the access log with its source')
    })
  })
}
