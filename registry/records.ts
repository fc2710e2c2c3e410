/**
 * Registry record types. These are the validated, in-memory shapes; the wire/storage form is
 * JSON of the same shape. Every record is parsed by `validate-record.ts` when read, so code
 * past that edge can trust these types.
 */

export type PortProtocol = 'http' | 'http2' | 'grpc' | 'tcp'
export const PORT_PROTOCOLS: readonly PortProtocol[] = ['http', 'http2', 'grpc', 'tcp']

export interface ServicePort {
  /** Port name, defaults to `${protocol}-${port}`; used by SRV names `_NAME._tcp...`. */
  readonly name: string
  readonly port: number
  readonly protocol: PortProtocol
}

export interface Service {
  readonly name: string
  readonly namespace: string
  readonly ports: readonly ServicePort[]
  /** Virtual IP allocated from the mesh CIDR by the store; never chosen by the caller. */
  readonly vip: string
  /** Service account of the workloads; defaults to the service name. */
  readonly serviceAccount: string
  readonly createdAt: string
}

export type EndpointHealth = 'healthy' | 'unhealthy'

export interface Endpoint {
  /** Stable id, unique in the registry, chosen by the store (e.g. `ep-<random>`). */
  readonly id: string
  /** Service key `NAMESPACE/NAME` (see names.ts). */
  readonly service: string
  readonly node: string
  readonly address: string
  /** Service port -> target port on `address`. Every service port has an entry. */
  readonly ports: Readonly<Record<string, number>>
  /** Relative weight for load balancing, 1..1000 (default 1). */
  readonly weight: number
  readonly labels: Readonly<Record<string, string>>
  readonly health: EndpointHealth
  /**
   * Name of the node whose agent lease keeps this endpoint alive, or absent for a static
   * endpoint (registered straight into the registry, lives until deregistered).
   */
  readonly lease?: string
  readonly createdAt: string
}

export interface NodeRecord {
  readonly name: string
  /** Address other agents dial for the tunnel (port 15008 by default). */
  readonly tunnelAddress: string
  readonly agentVersion: string
  /** When the node's agent last started; informational. */
  readonly startedAt: string
}

export type PolicyAction = 'ALLOW' | 'DENY'

export interface AuthorizationPolicy {
  readonly name: string
  /** Target service key `NAMESPACE/NAME`, or `*` for mesh-wide. */
  readonly target: string
  readonly action: PolicyAction
  readonly from: {
    readonly identities?: readonly string[]
    readonly namespaces?: readonly string[]
    /** Service keys `NAMESPACE/NAME`. */
    readonly services?: readonly string[]
  }
  readonly to: {
    readonly ports?: readonly number[]
    readonly methods?: readonly string[]
    readonly paths?: readonly string[]
  }
}

export interface RouteMatch {
  readonly pathPrefix?: string
  readonly pathExact?: string
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface RouteBackend {
  /** Service key `NAMESPACE/NAME`. */
  readonly service: string
  readonly weight: number
}

export interface RouteRule {
  readonly matches: readonly RouteMatch[]
  readonly backends: readonly RouteBackend[]
  readonly timeoutMs?: number
  readonly retries?: { readonly attempts: number; readonly perTryTimeoutMs?: number; readonly on?: readonly string[] }
}

export interface Route {
  /** Service key the route applies to. */
  readonly service: string
  readonly rules: readonly RouteRule[]
}

export type LoadBalancing = 'p2c' | 'round-robin' | 'random'

export interface ServiceDefaults {
  /** Service key the defaults apply to. */
  readonly service: string
  readonly loadBalancing?: LoadBalancing
  readonly outlierDetection?: {
    readonly consecutiveErrors: number
    readonly baseEjectionMs: number
    readonly maxEjectionPercent: number
  }
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number }
}

/** Mesh-wide settings every agent must agree on. */
export interface MeshConfig {
  readonly vipCidr: string
  readonly trustDomain: string
  readonly defaultDeny: boolean
}

export const DEFAULT_MESH_CONFIG: MeshConfig = {
  vipCidr: '127.77.0.0/16',
  trustDomain: 'nodemesh.local',
  defaultDeny: false,
}

/** The record kinds, as named in storage keys and change events. */
export type RecordKind = 'service' | 'endpoint' | 'node' | 'policy' | 'route' | 'defaults'
export const RECORD_KINDS: readonly RecordKind[] = ['service', 'endpoint', 'node', 'policy', 'route', 'defaults']

export interface RecordOfKind {
  service: Service
  endpoint: Endpoint
  node: NodeRecord
  policy: AuthorizationPolicy
  route: Route
  defaults: ServiceDefaults
}
