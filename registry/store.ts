/**
 * The one interface every registry backend implements (Redis, embedded file) and that the
 * agent's gRPC API exposes to the CLI. Reads return raw JSON strings: validation happens once,
 * in the snapshot builder, so a bad record is rejected alone wherever it came from.
 */
import { serviceKey } from './names'
import type {
  AuthorizationPolicy, Endpoint, EndpointHealth, MeshConfig, NodeRecord, RecordKind, Route,
  Service, ServiceDefaults, ServicePort,
} from './records'

/** A full, consistent read of the registry at one revision. */
export interface RegistryState {
  readonly revision: number
  /** Opaque position in the change feed matching `revision` (a stream ID for Redis). */
  readonly cursor: string
  /** Raw JSON of the mesh config, or undefined when `mesh init` never ran (defaults apply). */
  readonly mesh: string | undefined
  /** Raw JSON per kind, keyed by record id (see `recordId`). */
  readonly records: { readonly [K in RecordKind]: ReadonlyMap<string, string> }
}

export type RecordChange =
  | { readonly op: 'put'; readonly kind: RecordKind; readonly id: string; readonly value: string }
  | { readonly op: 'delete'; readonly kind: RecordKind; readonly id: string }
  | { readonly op: 'mesh'; readonly value: string }

/** One atomic write: exactly one revision, one or more record changes. */
export interface ChangeEvent {
  readonly revision: number
  readonly changes: readonly RecordChange[]
}

export type ChangeBatch =
  | { readonly type: 'events'; readonly events: readonly ChangeEvent[]; readonly cursor: string }
  /** The feed cannot continue from the cursor (history trimmed, store reset): load in full. */
  | { readonly type: 'resync'; readonly reason: string }

export interface CreateServiceInput {
  readonly name: string
  readonly namespace: string
  readonly ports: readonly ServicePort[]
  readonly serviceAccount?: string
}

export interface RegisterEndpointInput {
  /** Given when re-asserting an endpoint after a lost lease; otherwise the store picks one. */
  readonly id?: string
  readonly service: string
  readonly node: string
  readonly address: string
  readonly ports: Readonly<Record<string, number>>
  readonly weight?: number
  readonly labels?: Readonly<Record<string, string>>
  readonly health?: EndpointHealth
  readonly lease?: string
}

export interface HeartbeatResult {
  /** False when the lease had lapsed (its endpoints are gone): re-register what you hold. */
  readonly renewed: boolean
}

export type PutableKind = 'node' | 'policy' | 'route' | 'defaults'
export interface PutableRecord {
  node: NodeRecord
  policy: AuthorizationPolicy
  route: Route
  defaults: ServiceDefaults
}

export interface RegistryStore {
  /** A human-readable description for logs and errors (`redis://host:6379`, `file:/path`). */
  readonly description: string

  load(): Promise<RegistryState>
  /**
   * Waits up to `blockMs` for changes after `cursor`. Resolves with no events on timeout.
   * Rejects with NM_REGISTRY_UNREACHABLE when the backend is down.
   */
  readChanges(cursor: string, blockMs: number): Promise<ChangeBatch>

  getMesh(): Promise<MeshConfig>
  /** Sets the mesh config; refuses (NM_CONFLICT) to change the VIP CIDR while services exist. */
  initMesh(config: Partial<MeshConfig>): Promise<MeshConfig>

  /** Allocates the VIP atomically; NM_ALREADY_EXISTS when the service exists. */
  createService(input: CreateServiceInput): Promise<Service>
  /** Deletes the service, its endpoints, route and defaults, and frees its VIP. NM_NOT_FOUND. */
  deleteService(namespace: string, name: string): Promise<void>

  /** NM_NOT_FOUND when the service does not exist; NM_BAD_RECORD when ports do not fit it. */
  registerEndpoint(input: RegisterEndpointInput): Promise<Endpoint>
  /** NM_NOT_FOUND when no such endpoint of that service. */
  deregisterEndpoint(service: string, id: string): Promise<void>

  putRecord<K extends PutableKind>(kind: K, record: PutableRecord[K]): Promise<void>
  /** NM_NOT_FOUND when absent. */
  deleteRecord(kind: PutableKind, id: string): Promise<void>

  /** Renews (or starts) the lease of `node` for `ttlMs`, by the store's own clock. */
  heartbeat(node: string, ttlMs: number): Promise<HeartbeatResult>
  /** Deletes the endpoints of every lapsed lease, atomically per lease. Returns how many leases. */
  reapExpiredLeases(): Promise<number>

  close(): Promise<void>
}

/** The id a record is stored under, per kind. */
export function recordId(kind: RecordKind, record: { [k: string]: unknown }): string {
  switch (kind) {
    case 'service': return serviceKey(String(record.namespace), String(record.name))
    case 'endpoint': return String(record.id)
    case 'node': return String(record.name)
    case 'policy': return String(record.name)
    case 'route': return String(record.service)
    case 'defaults': return String(record.service)
  }
}
