/**
 * Where the CLI reads and writes the registry: straight into Redis with `--redis URL`, or
 * through the local agent's API otherwise. Both backends implement RegistryBackend, so
 * commands never care which one they got. Heavy modules load only here, on first use.
 */
import path from 'node:path'
import type { AuthorizationPolicy, Endpoint, MeshConfig, Service, ServicePort } from '../registry/records'
import type { AgentRegistration } from '../agent/api/agent-api-client'

export interface RegistryBackend {
  readonly description: string
  createService(input: { name: string; namespace: string; ports: readonly ServicePort[]; serviceAccount?: string }): Promise<Service>
  deleteService(namespace: string, name: string): Promise<void>
  listServices(namespace?: string): Promise<Service[]>
  /** Through the agent, `node` defaults to the agent's; straight into Redis it is required. */
  registerEndpoint(input: AgentRegistration): Promise<Endpoint>
  deregisterEndpoint(service: string, id: string): Promise<void>
  listEndpoints(service: string): Promise<Endpoint[]>
  getMesh(): Promise<MeshConfig>
  initMesh(config: Partial<MeshConfig>): Promise<MeshConfig>
  /** Creates or replaces the policy of that name; returns it as stored. */
  putPolicy(policy: AuthorizationPolicy): Promise<AuthorizationPolicy>
  /** NM_NOT_FOUND when absent. */
  deletePolicy(name: string): Promise<void>
  /** Sorted by name. */
  listPolicies(): Promise<AuthorizationPolicy[]>
  close(): Promise<void>
}

export interface GlobalFlags {
  readonly redis?: string
  readonly stateDir: string
  readonly apiSocket?: string
}

export type RegistryTarget =
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'agent'; readonly socketPath: string }

/** `--redis` wins; otherwise the agent socket, `--api-socket` or `STATE_DIR/agent.sock`. */
export function chooseRegistryTarget(flags: GlobalFlags): RegistryTarget {
  if (flags.redis) return { kind: 'redis', url: flags.redis }
  return { kind: 'agent', socketPath: flags.apiSocket ?? path.join(flags.stateDir, 'agent.sock') }
}

export async function openRegistry(target: RegistryTarget): Promise<RegistryBackend> {
  if (target.kind === 'agent') {
    const { connectAgentApi } = require('../agent/api/agent-api-client') as typeof import('../agent/api/agent-api-client')
    return connectAgentApi(target.socketPath)
  }
  const { openStoreBackend } = require('./store-backend') as typeof import('./store-backend')
  return openStoreBackend(target.url)
}
