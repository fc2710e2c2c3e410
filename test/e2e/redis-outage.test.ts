/**
 * The agent on a real Redis: traffic keeps flowing while Redis is killed, a restarted agent
 * serves from its saved snapshot while Redis is still down, it catches up when Redis returns,
 * and endpoints leased by an agent that died leave every snapshot after the TTL.
 */
import { execFile } from 'node:child_process'
import http from 'node:http'
import { promisify } from 'node:util'
import t from 'tap'
import { startHttpBackend } from '../helpers/backends'
import { curl } from '../helpers/commands'
import { httpGet, runCli, routesOf, sleep, startAgent, waitFor, waitForEndpoints } from '../helpers/agent-process'
import { haveRedisServer, startRedis } from '../helpers/redis-server'

if (!haveRedisServer()) {
  t.skip('redis-server is not installed (apt-get install redis-server)')
} else {
  t.test('Redis killed while traffic flows; agent restarted with Redis down', async (t) => {
    const redis = await startRedis()
    const backend = await startHttpBackend('api-1')
    const agent = await startAgent({ node: 'node-a', redisUrl: redis.url })
    t.teardown(async () => { await agent.stop(); await backend.close(); await redis.stop() })
    const env = { NODEMESH_REDIS_URL: redis.url }

    t.equal((await runCli(['service', 'create', 'api', '--port', '8090/http'], env)).code, 0)
    const reg = await runCli(['register', 'api', '--address', '127.0.0.1', '--port', String(backend.port), '--node', 'node-a'], env)
    t.equal(reg.code, 0, `static registration straight into Redis: ${reg.stderr}`)
    const vip = (JSON.parse((await runCli(['services', '-o', 'json'], env)).stdout) as Array<{ vip: string }>)[0]?.vip as string
    await waitForEndpoints(agent, 'default/api', 1)
    await redis.save()

    // Requests run back to back while Redis dies; none may fail.
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 })
    let ok = 0
    let failed = 0
    let stop = false
    const load = (async () => {
      while (!stop) {
        const status = await new Promise<number>((resolve) => {
          http.get(`http://${vip}:8090/during-outage`, { agent: keepAlive }, (res) => { res.resume().on('end', () => resolve(res.statusCode ?? 0)) })
            .on('error', () => resolve(0))
        })
        if (status === 200) ok++
        else failed++
      }
    })()
    await sleep(300)
    await redis.kill()
    await agent.waitForLog((r) => /NM_REGISTRY_UNREACHABLE/.test(String(r.msg ?? r.err ?? '')) || String(r.err ?? '').includes('NM_REGISTRY_UNREACHABLE'), 10_000)
    await sleep(1000)
    stop = true
    await load
    keepAlive.destroy()
    t.ok(ok > 20, `requests kept flowing while Redis was down (${ok})`)
    t.equal(failed, 0, 'no request failed')

    const metrics = await curl([`http://127.0.0.1:${agent.ports.metrics}/metrics`])
    t.match(metrics.body, /nodemesh_registry_connected 0/)
    t.match(metrics.body, /nodemesh_registry_staleness_seconds (?!0\b)\d/, 'staleness exported while Redis is down')

    // A restart with Redis still down starts from the saved snapshot.
    await agent.stop()
    await agent.start()
    const r = await curl([`http://${vip}:8090/after-restart`])
    t.equal(r.status, 200, 'served from the saved snapshot')
    const said = await agent.waitForLog((rec) => /serving from the saved snapshot/.test(String(rec.msg ?? '')))
    t.match(said.msg, /NM_REGISTRY_UNREACHABLE/, 'the agent says it serves from the saved snapshot, and why')

    // Redis returns (with its saved data): the agent reconnects and catches up.
    await redis.start()
    t.equal((await runCli(['service', 'create', 'late', '--port', '8091/http'], env)).code, 0)
    await waitFor(async () => (await routesOf(agent)).services.some((s) => s.service === 'default/late'), 'change after reconnect applied', 20_000)
  })

  t.test('a malformed record in Redis is rejected alone, logged and counted', async (t) => {
    const redis = await startRedis()
    t.teardown(() => redis.stop())
    const env = { NODEMESH_REDIS_URL: redis.url }
    t.equal((await runCli(['service', 'create', 'good', '--port', '8093/http'], env)).code, 0)
    // Written past the CLI, as a buggy or older writer might.
    await promisify(execFile)('redis-cli', ['-p', String(redis.port), 'HSET', '{nodemesh}:services', 'default/broken', '{"name":"broken","ports":"eighty"}'])
    const agent = await startAgent({ node: 'node-a', redisUrl: redis.url })
    t.teardown(() => agent.stop())

    await waitFor(async () => (await routesOf(agent)).services.some((s) => s.service === 'default/good'), 'the good service is served', 20_000)
    const logged = await agent.waitForLog((r) => r.msg === 'registry record rejected' && r.id === 'default/broken')
    t.equal(logged.kind, 'service', 'the rejection is logged with its kind')
    const snap = JSON.parse((await httpGet(`http://127.0.0.1:${agent.ports.admin}/debug/snapshot`)).body) as { rejected: Array<{ id: string }> }
    t.same(snap.rejected.map((r) => r.id), ['default/broken'], 'listed in /debug/snapshot')
    const metrics = (await httpGet(`http://127.0.0.1:${agent.ports.metrics}/metrics`)).body
    t.match(metrics, /nodemesh_registry_rejected_records_total\{kind="service"\} 1\b/, 'counted once')
  })

  t.test('endpoints leased by a dead agent leave every snapshot after the TTL', async (t) => {
    const redis = await startRedis()
    const a = await startAgent({ node: 'node-a', redisUrl: redis.url, extraArgs: ['--lease-ttl', '2'] })
    const b = await startAgent({ node: 'node-b', redisUrl: redis.url, extraArgs: ['--lease-ttl', '2'] })
    t.teardown(async () => { await a.stop(); await b.stop(); await redis.stop() })

    t.equal((await a.cli(['service', 'create', 'leased', '--port', '8092/http'])).code, 0)
    const reg = await a.cli(['register', 'leased', '--address', '127.0.0.1', '--port', '9999'])
    t.equal(reg.code, 0, reg.stderr)
    await waitForEndpoints(b, 'default/leased', 1)
    await a.kill()
    await waitForEndpoints(b, 'default/leased', 0)
    const listed = JSON.parse((await runCli(['endpoints', 'leased', '-o', 'json'], { NODEMESH_REDIS_URL: redis.url })).stdout) as unknown[]
    t.same(listed, [], 'gone from the registry itself, not only from one agent')

    // The agent comes back: it re-asserts what was registered through it.
    await a.start()
    await waitForEndpoints(b, 'default/leased', 1)
  })
}
