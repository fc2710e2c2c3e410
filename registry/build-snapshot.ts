/**
 * RegistryState (raw JSON) -> Snapshot (validated, immutable). A record that fails validation
 * is left out alone, with its reason, and every other record stands: one bad write must never
 * empty the routing table.
 */
import { DEFAULT_MESH_CONFIG, type RecordKind, type RecordOfKind } from './records'
import type { Snapshot, RejectedRecord } from './snapshot'
import { recordId, type RegistryState } from './store'
import { parseMeshConfig, parseRecord, type ParseResult } from './validate-record'

/** The Snapshot field that holds each record kind. */
export const SNAPSHOT_FIELD = {
  service: 'services',
  endpoint: 'endpoints',
  node: 'nodes',
  policy: 'policies',
  route: 'routes',
  defaults: 'defaults',
} as const satisfies { [K in RecordKind]: keyof Snapshot }

/** The id the mesh config is reported under when it is rejected. */
export const MESH_ID = 'mesh'

/**
 * Parses one stored record and checks it is stored under its own id (a record filed under
 * the wrong key would shadow another one).
 */
export function parseStoredRecord<K extends RecordKind>(kind: K, id: string, raw: string): ParseResult<RecordOfKind[K]> {
  const parsed = parseRecord(kind, raw)
  if (!parsed.ok) return parsed
  const own = recordId(kind, parsed.value as unknown as { [k: string]: unknown })
  if (own !== id) return { ok: false, reason: `stored under id "${id}" but the record's own id is "${own}"` }
  return parsed
}

/** Sorted by kind, then id, so that two snapshots of the same registry compare equal. */
export function sortRejected(list: Iterable<RejectedRecord>): RejectedRecord[] {
  return [...list].sort((a, b) => (a.kind === b.kind ? cmp(a.id, b.id) : cmp(a.kind, b.kind)))
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function emptySnapshot(): Snapshot {
  return {
    revision: 0, cursor: '0', mesh: DEFAULT_MESH_CONFIG,
    services: new Map(), endpoints: new Map(), nodes: new Map(), policies: new Map(), routes: new Map(), defaults: new Map(),
    rejected: [],
  }
}

export function buildSnapshot(state: RegistryState): { snapshot: Snapshot; rejected: RejectedRecord[] } {
  const rejected: RejectedRecord[] = []
  const mesh = parseMeshConfig(state.mesh)
  if (!mesh.ok) rejected.push({ kind: 'mesh', id: MESH_ID, reason: `${mesh.reason} (using the defaults)` })

  const all = <K extends RecordKind>(kind: K): Map<string, RecordOfKind[K]> => parseAll(kind, state.records[kind], rejected)
  const maps = {
    service: all('service'), endpoint: all('endpoint'), node: all('node'),
    policy: all('policy'), route: all('route'), defaults: all('defaults'),
  }
  const sorted = sortRejected(rejected)
  const snapshot: Snapshot = {
    revision: state.revision,
    cursor: state.cursor,
    mesh: mesh.ok ? mesh.value : DEFAULT_MESH_CONFIG,
    services: maps.service,
    endpoints: maps.endpoint,
    nodes: maps.node,
    policies: maps.policy,
    routes: maps.route,
    defaults: maps.defaults,
    rejected: sorted,
  }
  return { snapshot, rejected: sorted }
}

function parseAll<K extends RecordKind>(kind: K, raw: ReadonlyMap<string, string>, rejected: RejectedRecord[]): Map<string, RecordOfKind[K]> {
  const out = new Map<string, RecordOfKind[K]>()
  for (const [id, json] of [...raw].sort(([a], [b]) => cmp(a, b))) {
    const r = parseStoredRecord(kind, id, json)
    if (r.ok) out.set(id, r.value)
    else rejected.push({ kind, id, reason: r.reason })
  }
  return out
}
