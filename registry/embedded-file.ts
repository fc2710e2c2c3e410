/**
 * The embedded registry's on-disk document (`nodemesh-registry/1`): mesh, revision, records,
 * VIP allocations and leases in one JSON file. Records are stored as JSON objects but kept raw
 * in memory, as every store hands them out.
 */
import fs from 'node:fs/promises'
import { NmError } from './errors'
import { RECORD_KINDS, type RecordKind } from './records'
import type { EmbeddedState } from './embedded-state'

const FORMAT = 'nodemesh-registry/1'

export function encodeRegistryFile(s: EmbeddedState): string {
  const records: Record<string, Record<string, unknown>> = {}
  for (const kind of RECORD_KINDS) records[kind] = Object.fromEntries([...s.records[kind]].map(([id, raw]) => [id, JSON.parse(raw)]))
  return JSON.stringify({
    format: FORMAT,
    revision: s.revision,
    mesh: s.mesh === undefined ? undefined : JSON.parse(s.mesh),
    records,
    vips: Object.fromEntries(s.vips),
    vipCursor: s.vipCursor,
    leases: Object.fromEntries(s.leases),
  }, null, 1) + '\n'
}

/** Reads the registry file; a missing file is an empty registry. Never rewrites a bad file. */
export async function readRegistryFile(file: string): Promise<EmbeddedState> {
  const empty = new Map<string, string>()
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new NmError('NM_STATE_DIR', `cannot read ${file}: ${(err as Error).message}`)
    return {
      revision: 0, mesh: undefined, vipCursor: 0, vips: new Map(), leases: new Map(),
      records: { service: empty, endpoint: empty, node: empty, policy: empty, route: empty, defaults: empty },
    }
  }
  const bad = (why: string): never => {
    throw new NmError('NM_BAD_RECORD', `registry file ${file} ${why}; restore it from a backup or move it aside to start empty`)
  }
  let body: { [k: string]: unknown }
  try {
    body = JSON.parse(text) as { [k: string]: unknown }
  } catch (err) {
    return bad(`is not valid JSON (${(err as Error).message})`)
  }
  if (typeof body !== 'object' || body === null || body.format !== FORMAT) return bad(`is not a ${FORMAT} file`)
  if (!Number.isSafeInteger(body.revision) || (body.revision as number) < 0) bad('has no valid revision')
  const group = (v: unknown, what: string): { [k: string]: unknown } => {
    if (v === undefined) return {}
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(`has a bad "${what}" section`)
    return v as { [k: string]: unknown }
  }
  const recs = group(body.records, 'records')
  const records = {} as { [K in RecordKind]: Map<string, string> }
  // Records stay raw here: a bad one is rejected alone by the snapshot builder, not here.
  for (const kind of RECORD_KINDS) records[kind] = new Map(Object.entries(group(recs[kind], kind)).map(([id, v]) => [id, JSON.stringify(v ?? null)]))
  const vips = new Map(Object.entries(group(body.vips, 'vips')).filter((e): e is [string, string] => typeof e[1] === 'string'))
  const leases = new Map(Object.entries(group(body.leases, 'leases')).filter((e): e is [string, number] => typeof e[1] === 'number'))
  return {
    revision: body.revision as number,
    mesh: body.mesh === undefined || body.mesh === null ? undefined : JSON.stringify(body.mesh),
    records,
    vips,
    vipCursor: Number.isSafeInteger(body.vipCursor) ? (body.vipCursor as number) : 0,
    leases,
  }
}
