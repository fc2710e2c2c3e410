/**
 * The embedded store's state and the Draft a write is planned on. State is immutable: a write
 * copies only the parts it touches, so a refused or failed write leaves the current one as it was.
 */
import type { RecordKind } from './records'
import type { RecordChange } from './store'

type Records = { readonly [K in RecordKind]: ReadonlyMap<string, string> }

export interface EmbeddedState {
  readonly revision: number
  /** Raw mesh JSON, undefined until `mesh init`. */
  readonly mesh: string | undefined
  readonly records: Records
  /** Service key -> VIP. */
  readonly vips: ReadonlyMap<string, string>
  /** Offset where the next VIP search starts, so a freed VIP is not reused at once. */
  readonly vipCursor: number
  /** Node -> lease expiry (ms since the epoch). */
  readonly leases: ReadonlyMap<string, number>
}

/** A write in progress: copies of the parts it touched, swapped in once the file is written. */
export class Draft {
  records: { [K in RecordKind]: Map<string, string> } | undefined
  vips: Map<string, string> | undefined
  leases: Map<string, number> | undefined
  mesh: string | undefined
  vipCursor: number
  readonly changes: RecordChange[] = []
  constructor(readonly base: EmbeddedState) {
    this.mesh = base.mesh
    this.vipCursor = base.vipCursor
  }
  map(kind: RecordKind): Map<string, string> {
    this.records ??= { ...(this.base.records as { [K in RecordKind]: Map<string, string> }) }
    if (this.records[kind] === this.base.records[kind]) this.records[kind] = new Map(this.base.records[kind])
    return this.records[kind]
  }
  put(kind: RecordKind, id: string, value: unknown): void {
    const raw = JSON.stringify(value)
    this.map(kind).set(id, raw)
    this.changes.push({ op: 'put', kind, id, value: raw })
  }
  delete(kind: RecordKind, id: string): void {
    this.map(kind).delete(id)
    this.changes.push({ op: 'delete', kind, id })
  }
  setVips(): Map<string, string> { return (this.vips ??= new Map(this.base.vips)) }
  setLeases(): Map<string, number> { return (this.leases ??= new Map(this.base.leases)) }
}

/** One field of a raw stored record, or undefined when the record is not a JSON object. */
export function jsonField(raw: string, field: string): unknown {
  try {
    return (JSON.parse(raw) as { [k: string]: unknown })[field]
  } catch {
    return undefined
  }
}

export function endpointService(raw: string): string | undefined {
  const v = jsonField(raw, 'service')
  return typeof v === 'string' ? v : undefined
}
