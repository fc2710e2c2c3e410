/**
 * The two agents of the two-host topology (netns.ts): agent A in hA joins with a one-time
 * token, agent B in hB starts from an offline node credential the CA issued. Both use the
 * Redis registry at `redisUrl` and the CA `ca` (both reachable from the host namespaces).
 */
import fs from 'node:fs'
import type { Test } from 'tap'
import { certsOf, startAgent, waitFor, type AgentProcess } from './agent-process'
import type { TestCa } from './ca-process'
import type { Topology } from './netns'

/**
 * Starts agent A, then agent B, each with `extraArgs` first (for instance `--capture`). Each
 * agent's stop-and-remove step is pushed onto `cleanup` as soon as it runs.
 */
export async function startHostAgents(
  net: Topology, redisUrl: string, ca: TestCa, extraArgs: readonly string[], cleanup: Array<() => Promise<unknown>>,
): Promise<{ a: AgentProcess; b: AgentProcess }> {
  const tokenA = await ca.joinToken('node-a')
  const a = await startAgent({
    netns: net.hA, node: 'node-a', redisUrl,
    extraArgs: [...extraArgs, '--local-address', '10.77.1.1', '--tunnel-address', '10.77.0.1:15008',
      '--join-token', tokenA, '--ca-address', ca.address, '--ca-bundle', ca.bundle],
  })
  cleanup.push(async () => { await a.stop(); fs.rmSync(a.stateDir, { recursive: true, force: true }) })
  const bundleB = await ca.issueNode('node-b')
  const b = await startAgent({
    netns: net.hB, node: 'node-b', redisUrl,
    extraArgs: [...extraArgs, '--local-address', '10.77.2.1', '--tunnel-address', '10.77.0.2:15008',
      '--node-credential', bundleB, '--ca-address', ca.address],
  })
  cleanup.push(async () => { await b.stop(); fs.rmSync(b.stateDir, { recursive: true, force: true }) })
  return { a, b }
}

/**
 * Registers `services` (name and port) on agent B at the workload address 10.77.2.2, and the
 * `client` workload on agent A at 10.77.1.2 (nothing listens there: the endpoint only tells
 * agent A whose address it is), then waits until each agent holds the certificates it needs.
 */
export async function registerWorkloads(
  t: Test, { a, b }: { a: AgentProcess; b: AgentProcess }, trustDomain: string, services: ReadonlyArray<readonly [string, number]>,
): Promise<void> {
  // The CLI reaches each agent through its API socket, a file: no network namespace applies.
  for (const [agent, args] of [
    ...services.map(([name, port]) => [b, ['register', name, '--address', '10.77.2.2', '--port', String(port)]] as const),
    [a, ['register', 'client', '--address', '10.77.1.2', '--port', '7000']] as const,
  ]) {
    const r = await agent.cli(args)
    t.equal(r.code, 0, `${agent.node}: ${args.join(' ')}: ${r.stderr}`)
  }
  await waitFor(async () => {
    const certs = await certsOf(b)
    return services.every(([s]) => certs.includes(`spiffe://${trustDomain}/ns/default/sa/${s}`))
  }, 'B holds the certificates of its workloads', 20_000)
  await waitFor(async () => {
    const certs = await certsOf(a)
    return certs.includes(`spiffe://${trustDomain}/node/node-a`) && certs.includes(`spiffe://${trustDomain}/ns/default/sa/client`)
  }, 'A joined with its token and holds the client certificate', 20_000)
}
