/**
 * Reading the change stream the write scripts append to: each entry is
 * `rev <n> changes <JSON RecordChange[]>`. Pure functions, so the feed's edge cases (trimmed
 * history, reset stores, malformed entries) are table-tested without a server.
 */
import { RECORD_KINDS } from './records'
import type { ChangeBatch, ChangeEvent, RecordChange } from './store'

/** Orders two stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt)
  const [bm, bs] = b.split('-').map(BigInt)
  if (am !== bm) return am < bm ? -1 : 1
  return as === bs ? 0 : as < bs ? -1 : 1
}

/**
 * Why the feed cannot continue from `cursor`, given the flat `XINFO STREAM` reply (undefined
 * when the stream does not exist), or undefined when it can. `0-0` means "everything in the
 * stream": load() hands it out only when the stream was empty, so nothing can be missing.
 */
export function streamGap(info: readonly unknown[] | undefined, cursor: string): string | undefined {
  if (cursor === '0-0') return undefined
  if (info === undefined) return 'change stream missing (registry reset or flushed)'
  const field = (name: string): unknown => {
    for (let i = 0; i + 1 < info.length; i += 2) if (String(info[i]) === name) return info[i + 1]
    return undefined
  }
  const lastId = String(field('last-generated-id') ?? '0-0')
  if (compareStreamIds(cursor, lastId) > 0) return 'cursor is ahead of the change stream (registry reset)'
  const first = field('first-entry')
  const firstId = Array.isArray(first) ? String(first[0]) : undefined
  if (firstId !== undefined ? compareStreamIds(firstId, cursor) > 0 : compareStreamIds(cursor, lastId) < 0) return 'history trimmed'
  return undefined
}

const OPS = new Set(['put', 'delete', 'mesh'])
const KINDS = new Set<string>(RECORD_KINDS)

function isChange(c: unknown): c is RecordChange {
  if (typeof c !== 'object' || c === null) return false
  const o = c as { [k: string]: unknown }
  if (typeof o.op !== 'string' || !OPS.has(o.op)) return false
  if (o.op === 'mesh') return typeof o.value === 'string'
  return typeof o.kind === 'string' && KINDS.has(o.kind) && typeof o.id === 'string' && (o.op === 'delete' || typeof o.value === 'string')
}

/** XREAD entries to change events; a malformed entry cannot be skipped safely, so it asks for a resync. */
export function parseChangeEntries(entries: readonly [string, readonly string[]][], cursor: string): ChangeBatch {
  const events: ChangeEvent[] = []
  for (const [id, fields] of entries) {
    const f = new Map<string, string>()
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1])
    const revision = Number(f.get('rev'))
    let changes: unknown
    try { changes = JSON.parse(f.get('changes') ?? '') } catch { changes = undefined }
    if (!Number.isSafeInteger(revision) || revision < 1 || !Array.isArray(changes) || changes.length === 0 || !changes.every(isChange)) {
      return { type: 'resync', reason: `malformed change entry ${id}` }
    }
    events.push({ revision, changes })
  }
  return { type: 'events', events, cursor: entries.length > 0 ? entries[entries.length - 1][0] : cursor }
}
