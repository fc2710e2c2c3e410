/**
 * Where the CLI reads and writes the registry: straight into Redis with `--redis URL`, or
 * through the local agent's API otherwise. Both backends implement RegistryBackend, so
 * commands never care which one they got. Heavy modules load only here, on first use.
 */
import { defaultApiSocket } from '../agent/agent-options'
import type { AgentApiClient } from '../agent/api/agent-api-client'

/**
 * What the CLI needs from a registry; the agent's API client offers the same operations
 * (plus the agent's status), and the Redis backend implements them straight on the store.
 * Through the agent, `registerEndpoint`'s node defaults to the agent's; into Redis it is
 * required.
 */
export type RegistryBackend = Omit<AgentApiClient, 'getStatus'>

export interface GlobalFlags {
  readonly redis?: string
  readonly stateDir: string
  readonly apiSocket?: string
}

export type RegistryTarget =
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'agent'; readonly socketPath: string }

/** The local agent's API socket: `--api-socket`, or `STATE_DIR/agent.sock`. */
export function agentSocketPath(flags: GlobalFlags): string {
  return flags.apiSocket ?? defaultApiSocket(flags.stateDir)
}

/** `--redis` wins; otherwise the agent socket. */
export function chooseRegistryTarget(flags: GlobalFlags): RegistryTarget {
  if (flags.redis) return { kind: 'redis', url: flags.redis }
  return { kind: 'agent', socketPath: agentSocketPath(flags) }
}

export async function openRegistry(target: RegistryTarget): Promise<RegistryBackend> {
  if (target.kind === 'agent') {
    const { connectAgentApi } = require('../agent/api/agent-api-client') as typeof import('../agent/api/agent-api-client')
    return connectAgentApi(target.socketPath)
  }
  const { openStoreBackend } = require('./store-backend') as typeof import('./store-backend')
  return openStoreBackend(target.url)
}
