/**
 * The routing table the data plane reads: compiled from a Snapshot by a pure function
 * (`compile-routing-table.ts`) and swapped as one reference. Nothing here is mutated after
 * compilation; per-endpoint load counters live outside it (`endpoint-load.ts`).
 */
import type { PortProtocol } from '../../registry/records'
import type { CompiledPolicies } from '../authz/compile-policies'

export interface CompiledEndpoint {
  readonly id: string
  readonly node: string
  readonly address: string
  /** Target port on `address` for this service port. */
  readonly port: number
  readonly weight: number
  /** `address:port`, the key for connection pools and load counters. */
  readonly target: string
}

export interface CompiledPort {
  /** Service key `NAMESPACE/NAME`. */
  readonly service: string
  readonly serviceName: string
  readonly namespace: string
  readonly vip: string
  readonly name: string
  readonly port: number
  readonly protocol: PortProtocol
  /** SPIFFE ID the destination workloads present (`spiffe://TD/ns/NS/sa/SA`). */
  readonly identity: string
  /** Healthy endpoints only, in a stable order. */
  readonly endpoints: readonly CompiledEndpoint[]
}

export interface CompiledService {
  readonly key: string
  readonly name: string
  readonly namespace: string
  readonly vip: string
  readonly serviceAccount: string
  /** SPIFFE ID of the service's workloads. */
  readonly identity: string
  readonly ports: readonly CompiledPort[]
}

/** One listener the agent should have open in bind mode. */
export interface ListenerSpec {
  /** `vip:port`; also the key into `byVipPort`. */
  readonly key: string
  readonly vip: string
  readonly port: number
  readonly protocol: PortProtocol
  readonly service: string
}

export interface CompiledNode {
  readonly name: string
  /** `host:port` other agents dial for the tunnel. */
  readonly tunnelAddress: string
}

export interface RoutingTable {
  readonly revision: number
  readonly dnsDomain: string
  readonly trustDomain: string
  readonly nodes: ReadonlyMap<string, CompiledNode>
  readonly services: ReadonlyMap<string, CompiledService>
  /** `vip:port` -> the service port it serves. */
  readonly byVipPort: ReadonlyMap<string, CompiledPort>
  /** Lowercase DNS name without trailing dot (`web.mesh`, `web.default.mesh`) -> service. */
  readonly byDnsName: ReadonlyMap<string, CompiledService>
  /** Sorted by key. */
  readonly listeners: readonly ListenerSpec[]
  /**
   * Endpoint target `address:port` -> the service ports it serves there (every node). The
   * tunnel's destination side delivers only to targets here whose endpoint is on its node.
   */
  readonly byTarget: ReadonlyMap<string, readonly TargetBinding[]>
  /**
   * Address of a local endpoint -> who is there: one identity (and the service, when only
   * one service has endpoints there), or 'ambiguous' when workloads of several identities
   * share the address. Used to attribute the source of outbound connections.
   */
  readonly localSources: ReadonlyMap<string, LocalSource | 'ambiguous'>
  /**
   * Workload identity -> the one service whose workloads carry it; identities shared by
   * several services (a common service account) are absent. Names the source service of a
   * verified tunnel peer for `--from SERVICE` rules.
   */
  readonly serviceByIdentity: ReadonlyMap<string, string>
  /** Authorization policies indexed by target, evaluated where traffic is delivered. */
  readonly authz: CompiledPolicies
  /** The mesh-wide default-deny switch. */
  readonly defaultDeny: boolean
}

export interface LocalSource {
  readonly identity: string
  readonly service?: string
}

export interface TargetBinding {
  readonly port: CompiledPort
  readonly endpoint: CompiledEndpoint
}
