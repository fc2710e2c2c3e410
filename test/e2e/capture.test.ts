/**
 * Capture mode end to end, as root, in network namespaces: an agent with --capture in host
 * namespace hA; a workload in its own namespace wA routed through hA (as a pod is) and a host
 * process in hA both reach a service by its VIP without knowing the agent is there. Also: a
 * captured connection to a non-service address is refused and counted, an agent killed with
 * SIGKILL and restarted leaves exactly one set of rules, and a clean exit removes them.
 */
import t from 'tap'
import { loadOriginalDst } from '../../agent/capture/original-dst'
import { NmError } from '../../registry/errors'
import { startAgent, waitFor, type AgentProcess } from '../helpers/agent-process'
import { createTopology, curlIn, netnsUnavailable, removeStaleNamespaces, runIn, startBackendIn, tcpExchangeIn } from '../helpers/netns'

const skip = netnsUnavailable() ?? (loadOriginalDst() instanceof NmError ? 'the SO_ORIGINAL_DST addon is not built (npm rebuild)' : undefined)

async function natRules(ns: string): Promise<string[]> {
  const r = await runIn(ns, 'iptables', ['-w', '-t', 'nat', '-S'])
  return r.stdout.split('\n').filter((l) => l.includes('NODEMESH'))
}

function count(rules: string[], line: string): number {
  return rules.filter((r) => r === line).length
}

if (skip) {
  t.skip(skip)
} else {
  t.test('capture mode in network namespaces', async (t) => {
    await removeStaleNamespaces()
    const topo = await createTopology()
    t.teardown(() => topo.destroy())
    const agent: AgentProcess = await startAgent({ node: 'node-a', netns: topo.hA, extraArgs: ['--capture', '--vip-cidr', '240.240.0.0/16', '--local-address', '10.77.1.1'] })
    t.teardown(() => agent.stop())
    const mismatch = await agent.waitForLog((r) => /NM_MODE_MISMATCH/.test(String(r.msg ?? '')))
    t.match(mismatch.msg, /expects the VIP CIDR 240\.240\.0\.0\/16 .*mesh uses 127\.77\.0\.0\/16/, 'an agent whose expected CIDR is not the mesh one says so at start')

    t.equal((await agent.cli(['mesh', 'init', '--vip-cidr', '240.240.0.0/16'])).code, 0)
    const web = await startBackendIn(topo.hA, 'http', '10.77.1.1', 'web-in-hA')
    const echo = await startBackendIn(topo.hA, 'echo', '10.77.1.1')
    t.teardown(async () => { await web.close(); await echo.close() })
    t.equal((await agent.cli(['service', 'create', 'web', '--port', '8080/http', '--port', '9000/tcp'])).code, 0)
    t.equal((await agent.cli(['register', 'web', '--address', '10.77.1.1', '--port', `8080=${web.port}`, '--port', `9000=${echo.port}`])).code, 0)
    const vip = (JSON.parse((await agent.cli(['services', '-o', 'json'])).stdout) as Array<{ vip: string }>)[0]?.vip as string
    t.match(vip, /^240\.240\./)
    await waitFor(async () => count(await natRules(topo.hA), '-A NODEMESH-OUTPUT -d 240.240.0.0/16 -p tcp -j REDIRECT --to-ports 15001') === 1, 'rules for the registry CIDR', 20_000)

    t.test('a workload in its own namespace reaches the service by VIP (PREROUTING)', async (t) => {
      await waitFor(async () => (await curlIn(topo.wA, [`http://${vip}:8080/from-wA`])).status === 200, 'first captured request', 20_000)
      const r = await curlIn(topo.wA, [`http://${vip}:8080/again`])
      t.equal(r.status, 200)
      t.match(JSON.parse(r.body), { url: '/again', xff: '10.77.1.2' }, 'the backend sees the workload as the client')
      const tcp = await tcpExchangeIn(topo.wA, vip, 9000, 4 * 1024 * 1024)
      t.ok(tcp.equal, `a tcp port relays byte for byte with half-close (${tcp.received} bytes, ${tcp.error ?? 'no error'})`)
    })

    t.test('a host process reaches it too (OUTPUT)', async (t) => {
      const r = await curlIn(topo.hA, [`http://${vip}:8080/from-host`])
      t.equal(r.status, 200)
    })

    t.test('a captured connection to a non-service address is refused and counted', async (t) => {
      const r = await tcpExchangeIn(topo.wA, '240.240.9.9', 80, 1024)
      t.equal(r.received, 0, 'nothing is relayed')
      const metrics = await curlIn(topo.hA, ['http://127.0.0.1:15020/metrics'])
      t.match(metrics.body, /nodemesh_connections_refused_total\{reason="no-service"\} [1-9]/)
    })

    t.test('SIGKILL and restart leave exactly one set of rules; a clean exit removes them', async (t) => {
      await agent.kill()
      t.equal(count(await natRules(topo.hA), '-A OUTPUT -p tcp -j NODEMESH-OUTPUT'), 1, 'a crashed agent leaves its rules')
      await agent.start()
      await waitFor(async () => (await curlIn(topo.wA, [`http://${vip}:8080/after-restart`])).status === 200, 'traffic after restart', 20_000)
      const rules = await natRules(topo.hA)
      t.equal(count(rules, '-A OUTPUT -p tcp -j NODEMESH-OUTPUT'), 1, 'one OUTPUT jump')
      t.equal(count(rules, '-A PREROUTING -p tcp -j NODEMESH-PREROUTING'), 1, 'one PREROUTING jump')
      t.equal(count(rules, '-A NODEMESH-OUTPUT -d 240.240.0.0/16 -p tcp -j REDIRECT --to-ports 15001'), 1, 'one REDIRECT rule')
      t.equal(await agent.stop(), 0, 'clean exit')
      t.same(await natRules(topo.hA), [], 'no NODEMESH chain or jump left')
    })
  })
}
