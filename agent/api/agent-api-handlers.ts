/**
 * The agent API's calls as plain async functions of decoded requests. The gRPC plumbing lives
 * in serve-agent-api.ts; records go back as they are (their field names are the proto's).
 */
import { buildSnapshot } from '../../registry/build-snapshot'
import { NmError, isNmError } from '../../registry/errors'
import { parseServiceRef, serviceKeyOf } from '../../registry/names'
import { PORT_PROTOCOLS, type Endpoint, type MeshConfig, type PortProtocol, type Service, type ServicePort } from '../../registry/records'
import type { RegistryStore } from '../../registry/store'
import type { AgentStatus } from './agent-status'
import { checkAgentDeregistration, planAgentRegistration, type RegistrationRequest } from './plan-registration'
import { policyFromWire, policyNotFound, policyToWire, selectPolicies, type WirePolicy } from './policy-wire'
import { requireEndpoint, selectEndpoints, selectServices } from './select-records'
import { withDeadline } from './with-deadline'

export interface AgentApiDeps {
  readonly store: RegistryStore
  readonly node: string
  readonly status: () => AgentStatus
  readonly onRegistered?: (ep: Endpoint) => void
  readonly onDeregistered?: (service: string, id: string) => void
}

interface WirePort { readonly name: string; readonly port: number; readonly protocol: string }

export interface AgentApiHandlers {
  GetStatus(req: object): Promise<AgentStatus>
  CreateService(req: { name: string; namespace: string; ports: readonly WirePort[]; serviceAccount: string }): Promise<Service>
  DeleteService(req: { name: string; namespace: string }): Promise<object>
  ListServices(req: { namespace: string }): Promise<{ revision: number; services: Service[] }>
  RegisterEndpoint(req: RegistrationRequest): Promise<Endpoint>
  DeregisterEndpoint(req: { service: string; id: string }): Promise<object>
  ListEndpoints(req: { service: string }): Promise<{ revision: number; endpoints: Endpoint[] }>
  GetMesh(req: object): Promise<MeshConfig>
  InitMesh(req: { vipCidr?: string; trustDomain?: string; defaultDeny?: boolean }): Promise<MeshConfig>
  PutPolicy(req: { policy?: WirePolicy | null }): Promise<WirePolicy>
  DeletePolicy(req: { name: string }): Promise<object>
  ListPolicies(req: object): Promise<{ revision: number; policies: WirePolicy[] }>
}

/** Ports from the wire, checked so a bad request fails here with a clear message. */
export function portsFromWire(ports: readonly WirePort[]): ServicePort[] {
  if (ports.length === 0) throw new NmError('NM_BAD_ARGUMENT', 'a service needs at least one port: give --port PORT/PROTOCOL')
  return ports.map((p) => {
    if (!PORT_PROTOCOLS.includes(p.protocol as PortProtocol)) {
      throw new NmError('NM_BAD_ARGUMENT', `port ${p.port} has protocol "${p.protocol}": use one of ${PORT_PROTOCOLS.join(', ')}`)
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new NmError('NM_BAD_ARGUMENT', `port ${p.port} must be 1..65535`)
    return { name: p.name || `${p.protocol}-${p.port}`, port: p.port, protocol: p.protocol as PortProtocol }
  })
}

/**
 * Registry calls made for the API finish before the CLI's deadline (3 s), so a slow registry
 * is reported as such instead of as an agent that did not answer.
 */
export const REGISTRY_CALL_DEADLINE_MS = 2500

function bounded<T>(work: Promise<T>, description: string): Promise<T> {
  return withDeadline(work, REGISTRY_CALL_DEADLINE_MS, () => new NmError('NM_REGISTRY_UNREACHABLE',
    `the registry at ${description} did not answer within ${REGISTRY_CALL_DEADLINE_MS / 1000}s: check it is up; a write may still apply, so list before retrying`))
}

export function createAgentApiHandlers(deps: AgentApiDeps): AgentApiHandlers {
  const { node, store } = deps
  const b = <T>(work: Promise<T>) => bounded(work, store.description)
  const snapshot = async () => buildSnapshot(await b(store.load())).snapshot
  return {
    GetStatus: async () => deps.status(),
    CreateService: async (req) => {
      const ref = parseServiceRef(req.name, req.namespace || undefined)
      return b(store.createService({
        name: ref.name, namespace: ref.namespace, ports: portsFromWire(req.ports),
        ...(req.serviceAccount ? { serviceAccount: req.serviceAccount } : {}),
      }))
    },
    DeleteService: async (req) => {
      const ref = parseServiceRef(req.name, req.namespace || undefined)
      await b(store.deleteService(ref.namespace, ref.name))
      return {}
    },
    ListServices: async (req) => {
      const snap = await snapshot()
      return { revision: snap.revision, services: selectServices(snap, req.namespace || undefined) }
    },
    RegisterEndpoint: async (req) => {
      const ep = await b(store.registerEndpoint(planAgentRegistration(req, node)))
      deps.onRegistered?.(ep)
      return ep
    },
    DeregisterEndpoint: async (req) => {
      const key = serviceKeyOf(req.service)
      checkAgentDeregistration(requireEndpoint(await snapshot(), key, req.id), node)
      await b(store.deregisterEndpoint(key, req.id))
      deps.onDeregistered?.(key, req.id)
      return {}
    },
    ListEndpoints: async (req) => {
      const key = serviceKeyOf(req.service)
      const snap = await snapshot()
      return { revision: snap.revision, endpoints: selectEndpoints(snap, key) }
    },
    GetMesh: async () => b(store.getMesh()),
    InitMesh: async (req) => {
      // Only the fields the caller set: proto3 `optional` keeps unset ones absent.
      const patch: { -readonly [K in keyof MeshConfig]?: MeshConfig[K] } = {}
      if (req.vipCidr !== undefined) patch.vipCidr = req.vipCidr
      if (req.trustDomain !== undefined) patch.trustDomain = req.trustDomain
      if (req.defaultDeny !== undefined) patch.defaultDeny = req.defaultDeny
      return b(store.initMesh(patch))
    },
    PutPolicy: async (req) => {
      if (!req.policy) throw new NmError('NM_BAD_ARGUMENT', 'PutPolicy needs a policy')
      const policy = policyFromWire(req.policy)
      await b(store.putRecord('policy', policy))
      return policyToWire(policy)
    },
    DeletePolicy: async (req) => {
      await b(store.deleteRecord('policy', req.name)).catch((err: unknown) => {
        throw isNmError(err, 'NM_NOT_FOUND') ? policyNotFound(req.name) : err
      })
      return {}
    },
    ListPolicies: async () => {
      const snap = await snapshot()
      return { revision: snap.revision, policies: selectPolicies(snap).map(policyToWire) }
    },
  }
}
