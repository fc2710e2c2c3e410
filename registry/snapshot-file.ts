/**
 * The agent's last good snapshot on disk, for static stability: when the registry is down at
 * startup the agent serves from it. The file holds raw record JSON and is re-validated on
 * load, so a corrupted or hand-edited file costs at most the records it breaks.
 */
import fs from 'node:fs/promises'
import { writeFileAtomic } from './atomic-write'
import { RECORD_KINDS, type RecordKind } from './records'
import { buildSnapshot, SNAPSHOT_FIELD } from './build-snapshot'
import type { RejectedRecord, Snapshot } from './snapshot'
import type { RegistryState } from './store'

const FORMAT = 'nodemesh-snapshot/1'

export async function saveSnapshot(file: string, snapshot: Snapshot): Promise<void> {
  const records: Record<string, Record<string, unknown>> = {}
  for (const kind of RECORD_KINDS) {
    records[kind] = Object.fromEntries(snapshot[SNAPSHOT_FIELD[kind]] as ReadonlyMap<string, unknown>)
  }
  const body = {
    format: FORMAT,
    savedAt: new Date().toISOString(),
    revision: snapshot.revision,
    cursor: snapshot.cursor,
    mesh: snapshot.mesh,
    records,
  }
  await writeFileAtomic(file, JSON.stringify(body, null, 1) + '\n')
}

type Loaded = { snapshot: Snapshot; rejected: RejectedRecord[] } | { error: string }

/** undefined when there is no file; `{ error }` when it cannot be used at all. */
export async function loadSnapshot(file: string): Promise<Loaded | undefined> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    return { error: `cannot read snapshot file ${file}: ${(err as Error).message}` }
  }
  const state = decode(text)
  if (typeof state === 'string') return { error: `snapshot file ${file} ${state}; it is replaced at the next registry sync` }
  return buildSnapshot(state)
}

/** The file as a RegistryState, or why it cannot be one. Records stay raw for buildSnapshot. */
function decode(text: string): RegistryState | string {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    return `is not valid JSON (${(err as Error).message})`
  }
  if (typeof body !== 'object' || body === null) return 'does not hold an object'
  const b = body as { [k: string]: unknown }
  if (b.format !== FORMAT) return `has format ${JSON.stringify(b.format)}, expected ${FORMAT}`
  if (typeof b.revision !== 'number' || !Number.isInteger(b.revision) || b.revision < 0) return 'has no valid revision'
  if (typeof b.cursor !== 'string') return 'has no valid cursor'
  if (typeof b.records !== 'object' || b.records === null) return 'has no records object'
  const raw = b.records as { [k: string]: unknown }
  const records = {} as { [K in RecordKind]: Map<string, string> }
  for (const kind of RECORD_KINDS) {
    const group = raw[kind] ?? {}
    if (typeof group !== 'object' || group === null || Array.isArray(group)) return `has a bad "${kind}" record group`
    records[kind] = new Map(Object.entries(group).map(([id, v]) => [id, JSON.stringify(v ?? null)]))
  }
  return {
    revision: b.revision,
    cursor: b.cursor,
    mesh: b.mesh === undefined ? undefined : JSON.stringify(b.mesh),
    records,
  }
}
