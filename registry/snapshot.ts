/**
 * The immutable view of the registry that the agent compiles into its routing table.
 * Built by `build-snapshot.ts` from a RegistryState (validating every record) and advanced by
 * `apply-changes.ts` with change events (copy-on-write; the previous snapshot is untouched).
 */
import type {
  AuthorizationPolicy, Endpoint, MeshConfig, NodeRecord, RecordKind, Route, Service, ServiceDefaults,
} from './records'

export interface RejectedRecord {
  readonly kind: RecordKind | 'mesh'
  readonly id: string
  readonly reason: string
}

export interface Snapshot {
  readonly revision: number
  readonly cursor: string
  readonly mesh: MeshConfig
  readonly services: ReadonlyMap<string, Service>
  readonly endpoints: ReadonlyMap<string, Endpoint>
  readonly nodes: ReadonlyMap<string, NodeRecord>
  readonly policies: ReadonlyMap<string, AuthorizationPolicy>
  readonly routes: ReadonlyMap<string, Route>
  readonly defaults: ReadonlyMap<string, ServiceDefaults>
  /** Records rejected by validation at this snapshot, so operators can see them in /debug. */
  readonly rejected: readonly RejectedRecord[]
}
