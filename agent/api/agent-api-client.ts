/**
 * The CLI's client for the local agent's gRPC API. Fails fast with NM_AGENT_UNREACHABLE when
 * no agent listens on the socket, and turns the agent's errors back into the same NmError.
 */
import fs from 'node:fs'
import * as grpc from '@grpc/grpc-js'
import type { AuthorizationPolicy, Endpoint, EndpointHealth, MeshConfig, Service, ServicePort } from '../../registry/records'
import type { AgentStatus } from './agent-status'
import { agentUnreachable, fromGrpcError } from './grpc-error-mapping'
import { agentServiceDefinition } from './load-agent-proto'
import { policyFromWire, policyToWire, type WirePolicy } from './policy-wire'

export const DEFAULT_AGENT_DEADLINE_MS = 3000

export interface AgentRegistration {
  /** Service reference: `NAMESPACE/NAME`, `NAME.NAMESPACE` or `NAME`. */
  readonly service: string
  /** Must be the agent's node when given. */
  readonly node?: string
  readonly address: string
  readonly ports: Readonly<Record<string, number>>
  readonly weight?: number
  readonly labels?: Readonly<Record<string, string>>
  readonly health?: EndpointHealth
}

export interface AgentApiClient {
  readonly description: string
  getStatus(): Promise<AgentStatus>
  createService(input: { name: string; namespace: string; ports: readonly ServicePort[]; serviceAccount?: string }): Promise<Service>
  deleteService(namespace: string, name: string): Promise<void>
  listServices(namespace?: string): Promise<Service[]>
  registerEndpoint(input: AgentRegistration): Promise<Endpoint>
  deregisterEndpoint(service: string, id: string): Promise<void>
  listEndpoints(service: string): Promise<Endpoint[]>
  getMesh(): Promise<MeshConfig>
  initMesh(config: Partial<MeshConfig>): Promise<MeshConfig>
  /** Creates or replaces the policy of that name; returns it as stored. */
  putPolicy(policy: AuthorizationPolicy): Promise<AuthorizationPolicy>
  /** NM_NOT_FOUND when absent. */
  deletePolicy(name: string): Promise<void>
  listPolicies(): Promise<AuthorizationPolicy[]>
  close(): Promise<void>
}

type Unary = (req: object, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void

export function connectAgentApi(socketPath: string, opts: { deadlineMs?: number } = {}): AgentApiClient {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_AGENT_DEADLINE_MS
  const Ctor = grpc.makeGenericClientConstructor(agentServiceDefinition(), 'Agent')
  const client = new Ctor(`unix:${socketPath}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>

  const call = <T>(method: string, req: object): Promise<T> => {
    // A missing socket is the common case (no agent started): say so without waiting.
    if (!fs.existsSync(socketPath)) {
      return Promise.reject(agentUnreachable(socketPath))
    }
    return new Promise<T>((resolve, reject) => {
      client[method]!.call(client, req, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(fromGrpcError(err, socketPath))
        else resolve(res as T)
      })
    })
  }

  return {
    description: `agent at ${socketPath}`,
    getStatus: () => call<AgentStatus>('GetStatus', {}),
    createService: (input) => call<Service>('CreateService', {
      name: input.name, namespace: input.namespace, ports: input.ports, serviceAccount: input.serviceAccount ?? '',
    }),
    deleteService: async (namespace, name) => { await call('DeleteService', { namespace, name }) },
    listServices: async (namespace) => (await call<{ services: Service[] }>('ListServices', { namespace: namespace ?? '' })).services,
    registerEndpoint: async (input) => endpointFromWire(await call<WireEndpoint>('RegisterEndpoint', {
      service: input.service, node: input.node ?? '', address: input.address, ports: input.ports,
      weight: input.weight ?? 0, labels: input.labels ?? {}, health: input.health ?? '',
    })),
    deregisterEndpoint: async (service, id) => { await call('DeregisterEndpoint', { service, id }) },
    listEndpoints: async (service) => (await call<{ endpoints: WireEndpoint[] }>('ListEndpoints', { service })).endpoints.map(endpointFromWire),
    getMesh: () => call<MeshConfig>('GetMesh', {}),
    initMesh: (config) => call<MeshConfig>('InitMesh', config),
    putPolicy: async (policy) => policyFromWire(await call<WirePolicy>('PutPolicy', { policy: policyToWire(policy) })),
    deletePolicy: async (name) => { await call('DeletePolicy', { name }) },
    listPolicies: async () => (await call<{ policies: WirePolicy[] }>('ListPolicies', {})).policies.map(policyFromWire),
    close: async () => { client.close() },
  }
}

type WireEndpoint = Omit<Endpoint, 'lease'> & { readonly lease: string }

/** An empty lease on the wire is a static endpoint: no `lease` field, as in the registry. */
function endpointFromWire(w: WireEndpoint): Endpoint {
  const { lease, ...rest } = w
  return lease ? { ...rest, lease } : rest
}
