/**
 * Advances a Snapshot by change events, copy-on-write: `prev` and its maps are never touched,
 * and only the maps of kinds that changed are copied, so consumers can compare by reference.
 * An invalid `put` keeps the last good version of that record (as Istio keeps the last good
 * config) and is reported, so a bad write degrades one record instead of removing it.
 */
import type { RecordKind } from './records'
import type { RejectedRecord, Snapshot } from './snapshot'
import type { ChangeEvent } from './store'
import { MESH_ID, SNAPSHOT_FIELD, parseStoredRecord, sortRejected } from './build-snapshot'
import { parseMeshConfig } from './validate-record'

type AnyMap = Map<string, unknown>

export function applyChanges(
  prev: Snapshot, events: readonly ChangeEvent[], cursor: string,
): { snapshot: Snapshot; rejected: RejectedRecord[] } {
  const copied = new Map<RecordKind, AnyMap>()
  const writable = (kind: RecordKind): AnyMap => {
    let m = copied.get(kind)
    if (!m) {
      m = new Map(prev[SNAPSHOT_FIELD[kind]] as ReadonlyMap<string, unknown>)
      copied.set(kind, m)
    }
    return m
  }
  const key = (kind: string, id: string): string => `${kind}\u0000${id}`
  const standing = new Map(prev.rejected.map((r) => [key(r.kind, r.id), r]))
  const fresh: RejectedRecord[] = []
  const reject = (r: RejectedRecord): void => {
    standing.set(key(r.kind, r.id), r)
    fresh.push(r)
  }
  let mesh = prev.mesh
  let revision = prev.revision

  for (const event of events) {
    // Events at or below the snapshot's revision are already in it (a re-delivered batch).
    if (event.revision <= revision) continue
    revision = event.revision
    for (const change of event.changes) {
      if (change.op === 'mesh') {
        const r = parseMeshConfig(change.value)
        if (r.ok) {
          mesh = r.value
          standing.delete(key('mesh', MESH_ID))
        } else reject({ kind: 'mesh', id: MESH_ID, reason: `${r.reason} (keeping the previous mesh config)` })
      } else if (change.op === 'delete') {
        writable(change.kind).delete(change.id)
        standing.delete(key(change.kind, change.id))
      } else {
        const r = parseStoredRecord(change.kind, change.id, change.value)
        if (r.ok) {
          writable(change.kind).set(change.id, r.value)
          standing.delete(key(change.kind, change.id))
        } else {
          const kept = prev[SNAPSHOT_FIELD[change.kind]].has(change.id) || copied.get(change.kind)?.has(change.id)
          reject({ kind: change.kind, id: change.id, reason: kept ? `${r.reason} (keeping the last good version)` : r.reason })
        }
      }
    }
  }

  const pick = <K extends RecordKind>(kind: K): Snapshot[(typeof SNAPSHOT_FIELD)[K]] =>
    (copied.get(kind) ?? prev[SNAPSHOT_FIELD[kind]]) as Snapshot[(typeof SNAPSHOT_FIELD)[K]]
  const rejectedChanged = fresh.length > 0 || standing.size !== prev.rejected.length
  const snapshot: Snapshot = {
    revision,
    cursor,
    mesh,
    services: pick('service'),
    endpoints: pick('endpoint'),
    nodes: pick('node'),
    policies: pick('policy'),
    routes: pick('route'),
    defaults: pick('defaults'),
    rejected: rejectedChanged ? sortRejected(standing.values()) : prev.rejected,
  }
  return { snapshot, rejected: fresh }
}
