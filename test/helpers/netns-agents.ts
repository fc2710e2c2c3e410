/**
 * The two agents of the two-host topology (netns.ts): agent A in hA joins with a one-time
 * token, agent B in hB starts from an offline node credential the CA issued. Both use the
 * Redis registry at `redisUrl` and the CA `ca` (both reachable from the host namespaces).
 */
import fs from 'node:fs'
import { startAgent, type AgentProcess } from './agent-process'
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
