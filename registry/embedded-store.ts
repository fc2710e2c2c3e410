/**
 * The registry for one host, without Redis: one JSON file (mesh, revision, records, VIP
 * allocations, leases) rewritten atomically on every write, plus an in-process change feed.
 * Each write builds the next state aside and swaps it in only once it is on disk, so a failed
 * write changes neither the file nor memory.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { addressOffset, mustParseCidr, nextFreeOffset, nthAddress } from './cidr'
import { NmError } from './errors'
import { serviceKey, splitServiceKey } from './names'
import { RECORD_KINDS, type Endpoint, type MeshConfig, type RecordKind, type Service } from './records'
import { writeFileAtomic } from './snapshot-file'
import {
  recordId,
  type ChangeBatch, type ChangeEvent, type CreateServiceInput, type HeartbeatResult, type PutableKind, type PutableRecord,
  type RecordChange, type RegisterEndpointInput, type RegistryState, type RegistryStore,
} from './store'
import {
  isValidNodeName, parseMeshConfig, parseRecord, validateCreateService, validateMeshInput, validatePutRecord,
  validateRegisterEndpoint,
} from './validate-record'

const FORMAT = 'nodemesh-registry/1'
/** Change events kept for readChanges; a cursor older than this must resync in full. */
export const EMBEDDED_HISTORY = 1000
const MAX_TTL_MS = 24 * 3600_000

type Records = { readonly [K in RecordKind]: ReadonlyMap<string, string> }

interface State {
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
class Draft {
  records: { [K in RecordKind]: Map<string, string> } | undefined
  vips: Map<string, string> | undefined
  leases: Map<string, number> | undefined
  mesh: string | undefined
  vipCursor: number
  readonly changes: RecordChange[] = []
  constructor(readonly base: State) {
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

export class EmbeddedStore implements RegistryStore {
  readonly description: string
  private state: State
  private history: ChangeEvent[] = []
  private waiters = new Set<() => void>()
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  private constructor(private readonly file: string, private readonly lock: FileLock, state: State) {
    this.description = `file:${file}`
    this.state = state
  }

  /** Opens (or creates) the registry file, taking its lock. NM_CONFLICT when another process holds it. */
  static async open(file: string): Promise<EmbeddedStore> {
    const abs = path.resolve(file)
    await fs.mkdir(path.dirname(abs), { recursive: true, mode: 0o700 }).catch((err: Error) => {
      throw new NmError('NM_STATE_DIR', `cannot create the directory of ${abs}: ${err.message}; check its permissions`)
    })
    const lock = await acquireFileLock(`${abs}.lock`, `registry file ${abs}`)
    try {
      return new EmbeddedStore(abs, lock, await readState(abs))
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  async load(): Promise<RegistryState> {
    this.assertOpen()
    const s = this.state
    return { revision: s.revision, cursor: String(s.revision), mesh: s.mesh, records: s.records }
  }

  async readChanges(cursor: string, blockMs: number): Promise<ChangeBatch> {
    this.assertOpen()
    const from = /^(0|[1-9][0-9]*)$/.test(cursor) ? Number(cursor) : NaN
    if (!Number.isSafeInteger(from)) return { type: 'resync', reason: `cursor "${cursor}" is not a revision of ${this.description}` }
    let batch = this.eventsAfter(from)
    if (batch.type === 'events' && batch.events.length === 0 && blockMs > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
        const timer = setTimeout(done, blockMs)
        this.waiters.add(done)
      })
      // Closed while waiting: "no changes" would claim a sync that did not happen.
      this.assertOpen()
      batch = this.eventsAfter(from)
    }
    return batch
  }

  private eventsAfter(from: number): ChangeBatch {
    const { revision } = this.state
    if (from > revision) return { type: 'resync', reason: `cursor ${from} is ahead of revision ${revision}: the registry file was replaced` }
    const oldest = this.history.length > 0 ? this.history[0]!.revision : revision + 1
    if (from < oldest - 1) return { type: 'resync', reason: `cursor ${from} is older than the kept change history (from ${oldest})` }
    const events = this.history.filter((e) => e.revision > from)
    return { type: 'events', events, cursor: String(events.length > 0 ? events[events.length - 1]!.revision : from) }
  }

  async getMesh(): Promise<MeshConfig> {
    this.assertOpen()
    return this.mesh(this.state)
  }

  async initMesh(config: Partial<MeshConfig>): Promise<MeshConfig> {
    return this.write((d) => {
      const current = this.mesh(d.base)
      const next = validateMeshInput(current, config)
      if (next.vipCidr !== current.vipCidr && d.base.records.service.size > 0) {
        throw new NmError('NM_CONFLICT', `cannot change the VIP CIDR from ${current.vipCidr} to ${next.vipCidr} while ${d.base.records.service.size} services hold VIPs; delete them first`)
      }
      const raw = JSON.stringify(next)
      if (raw !== d.base.mesh) {
        d.mesh = raw
        d.changes.push({ op: 'mesh', value: raw })
      }
      return next
    })
  }

  async createService(input: CreateServiceInput): Promise<Service> {
    validateCreateService(input)
    return this.write((d) => {
      const key = serviceKey(input.namespace, input.name)
      if (d.base.records.service.has(key)) throw new NmError('NM_ALREADY_EXISTS', `service ${key} already exists; delete it first to recreate it`)
      const cidr = mustParseCidr(this.mesh(d.base).vipCidr)
      const taken = new Set<number>()
      // Service records count too, in case the allocation table was edited by hand.
      const held = [...d.base.vips.values(), ...[...d.base.records.service.values()].map((raw) => jsonField(raw, 'vip'))]
      for (const vip of held) {
        const off = typeof vip === 'string' ? addressOffset(cidr, vip) : undefined
        if (off !== undefined) taken.add(off)
      }
      const offset = nextFreeOffset(cidr, d.vipCursor, (o) => taken.has(o))
      if (offset === undefined) {
        throw new NmError('NM_VIP_EXHAUSTED', `no free VIP left in ${cidr.text} (${taken.size} in use); delete unused services, or (with no services) widen the CIDR with mesh init`)
      }
      const parsed = parseRecord('service', JSON.stringify({
        name: input.name, namespace: input.namespace, ports: input.ports, vip: nthAddress(cidr, offset),
        serviceAccount: input.serviceAccount ?? input.name, createdAt: new Date().toISOString(),
      }))
      if (!parsed.ok) throw new NmError('NM_BAD_ARGUMENT', `service ${key}: ${parsed.reason}`)
      d.put('service', key, parsed.value)
      d.setVips().set(key, parsed.value.vip)
      d.vipCursor = offset + 1
      return parsed.value
    })
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    return this.write((d) => {
      const key = serviceKey(namespace, name)
      if (!d.base.records.service.has(key)) throw new NmError('NM_NOT_FOUND', `service ${key} does not exist; list services to check the name`)
      d.delete('service', key)
      for (const [id, raw] of d.base.records.endpoint) if (endpointService(raw) === key) d.delete('endpoint', id)
      if (d.base.records.route.has(key)) d.delete('route', key)
      if (d.base.records.defaults.has(key)) d.delete('defaults', key)
      d.setVips().delete(key)
    })
  }

  async registerEndpoint(input: RegisterEndpointInput): Promise<Endpoint> {
    return this.write((d) => {
      const { namespace, name } = splitServiceKey(String(input.service))
      const key = serviceKey(namespace, name)
      const rawService = d.base.records.service.get(key)
      if (rawService === undefined) throw new NmError('NM_NOT_FOUND', `service ${key} does not exist; create it before registering endpoints`)
      const service = parseRecord('service', rawService)
      if (!service.ok) throw new NmError('NM_BAD_RECORD', `service ${key} is stored invalid (${service.reason}); recreate it`)
      validateRegisterEndpoint(input, service.value)
      if (input.lease !== undefined && !((d.base.leases.get(input.lease) ?? 0) > Date.now())) {
        throw new NmError('NM_LEASE_EXPIRED', `the lease of node ${input.lease} has expired or was never started: heartbeat the node, then register its endpoints again`)
      }
      let id = input.id
      const existing = id === undefined ? undefined : d.base.records.endpoint.get(id)
      if (existing !== undefined && endpointService(existing) !== key) {
        throw new NmError('NM_CONFLICT', `endpoint id ${id} belongs to service ${endpointService(existing)}; pick another id`)
      }
      while (id === undefined || (existing === undefined && input.id === undefined && d.base.records.endpoint.has(id))) id = newEndpointId()
      const created = existing === undefined ? undefined : jsonField(existing, 'createdAt')
      const createdAt = typeof created === 'string' ? created : new Date().toISOString()
      const parsed = parseRecord('endpoint', JSON.stringify({
        id, service: key, node: input.node, address: input.address, ports: input.ports, weight: input.weight ?? 1,
        labels: input.labels ?? {}, health: input.health ?? 'healthy', lease: input.lease, createdAt,
      }))
      if (!parsed.ok) throw new NmError('NM_BAD_ARGUMENT', `endpoint of ${key}: ${parsed.reason}`)
      d.put('endpoint', id, parsed.value)
      return parsed.value
    })
  }

  async deregisterEndpoint(service: string, id: string): Promise<void> {
    return this.write((d) => {
      const raw = d.base.records.endpoint.get(id)
      if (raw === undefined || endpointService(raw) !== service) throw new NmError('NM_NOT_FOUND', `service ${service} has no endpoint ${id}; list its endpoints to check the id`)
      d.delete('endpoint', id)
    })
  }

  async putRecord<K extends PutableKind>(kind: K, record: PutableRecord[K]): Promise<void> {
    const value = validatePutRecord(kind, record)
    return this.write((d) => { d.put(kind, recordId(kind, value as unknown as { [k: string]: unknown }), value) })
  }

  async deleteRecord(kind: PutableKind, id: string): Promise<void> {
    return this.write((d) => {
      if (!d.base.records[kind].has(id)) throw new NmError('NM_NOT_FOUND', `${kind} ${id} does not exist`)
      d.delete(kind, id)
    })
  }

  async heartbeat(node: string, ttlMs: number): Promise<HeartbeatResult> {
    if (typeof node !== 'string' || !isValidNodeName(node)) throw new NmError('NM_BAD_ARGUMENT', `node name ${JSON.stringify(node)} is not a host name`)
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) throw new NmError('NM_BAD_ARGUMENT', `lease TTL must be 1..${MAX_TTL_MS} ms, got ${ttlMs}`)
    return this.write((d) => {
      const now = Date.now()
      const renewed = (d.base.leases.get(node) ?? 0) > now
      // A lapsed lease's endpoints are gone by contract, even if the reaper has not run yet.
      if (!renewed) reapInto(d, node)
      d.setLeases().set(node, now + ttlMs)
      return { renewed }
    })
  }

  async reapExpiredLeases(): Promise<number> {
    this.assertOpen()
    const now = Date.now()
    const lapsed = [...this.state.leases].filter(([, exp]) => exp <= now).map(([node]) => node)
    let reaped = 0
    for (const node of lapsed) {
      // One write (one revision) per lease; a heartbeat that landed meanwhile wins.
      const done = await this.write((d) => {
        const exp = d.base.leases.get(node)
        if (exp === undefined || exp > Date.now()) return false
        reapInto(d, node)
        d.setLeases().delete(node)
        return true
      })
      if (done) reaped++
    }
    return reaped
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const wake of [...this.waiters]) wake()
    await this.queue.catch(() => undefined)
    await this.lock.release()
  }

  private mesh(s: State): MeshConfig {
    const r = parseMeshConfig(s.mesh)
    if (!r.ok) throw new NmError('NM_BAD_RECORD', `the mesh config in ${this.file} is invalid (${r.reason}); set it again with mesh init`)
    return r.value
  }

  private assertOpen(): void {
    if (this.closed) throw new NmError('NM_REGISTRY_UNREACHABLE', `${this.description} is closed; open the store again`)
  }

  /**
   * Runs one write at a time: `fn` plans it on a Draft (throwing to refuse), then the new state
   * goes to disk and only then into memory, with one revision and one event when records changed.
   */
  private write<T>(fn: (d: Draft) => T): Promise<T> {
    const run = async (): Promise<T> => {
      this.assertOpen()
      const d = new Draft(this.state)
      const result = fn(d)
      const changed = d.changes.length > 0
      const next: State = {
        revision: changed ? d.base.revision + 1 : d.base.revision,
        mesh: d.mesh,
        records: d.records ?? d.base.records,
        vips: d.vips ?? d.base.vips,
        vipCursor: d.vipCursor,
        leases: d.leases ?? d.base.leases,
      }
      if (!changed && next.leases === d.base.leases && next.vipCursor === d.base.vipCursor) return result
      await writeFileAtomic(this.file, encodeState(next), 0o600).catch((err: Error) => {
        throw new NmError('NM_STATE_DIR', `cannot write ${this.file}: ${err.message}; nothing was changed`, { cause: err })
      })
      this.state = next
      if (changed) {
        this.history.push({ revision: next.revision, changes: d.changes })
        if (this.history.length > EMBEDDED_HISTORY) this.history.splice(0, this.history.length - EMBEDDED_HISTORY)
        for (const wake of [...this.waiters]) wake()
      }
      return result
    }
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => undefined)
    return p
  }
}

function reapInto(d: Draft, node: string): void {
  for (const [id, raw] of d.base.records.endpoint) {
    if (jsonField(raw, 'lease') === node) d.delete('endpoint', id)
  }
}

function jsonField(raw: string, field: string): unknown {
  try {
    return (JSON.parse(raw) as { [k: string]: unknown })[field]
  } catch {
    return undefined
  }
}

function endpointService(raw: string): string | undefined {
  const v = jsonField(raw, 'service')
  return typeof v === 'string' ? v : undefined
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'
function newEndpointId(): string {
  return 'ep-' + [...crypto.randomBytes(10)].map((b) => BASE32[b & 31]).join('')
}

function encodeState(s: State): string {
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
async function readState(file: string): Promise<State> {
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

// ---- the lock file: one process per registry file ----

interface FileLock { release(): Promise<void> }

/** Locks held by this process: a lock naming our own pid but not in here was left by an earlier process that had the same pid (pid 1 in a container). */
const heldLocks = new Set<string>()

/**
 * Takes `lockFile` holding our pid. The pid is written to a temp file first and hard-linked
 * into place, so the lock never exists half-written. A lock whose pid is dead is stale (a
 * crashed process) and is taken over.
 */
async function acquireFileLock(lockFile: string, what: string): Promise<FileLock> {
  const mine = `${process.pid}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = `${lockFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
    try {
      await fs.writeFile(tmp, mine, { mode: 0o600 })
      await fs.link(tmp, lockFile)
      heldLocks.add(lockFile)
      return { release: () => releaseLock(lockFile, mine) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new NmError('NM_STATE_DIR', `cannot create lock file ${lockFile}: ${(err as Error).message}; check the directory's permissions`)
      }
    } finally {
      await fs.rm(tmp, { force: true })
    }
    const holder = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim())
    if (Number.isSafeInteger(holder) && holder > 0 && pidAlive(holder, lockFile)) {
      throw new NmError('NM_CONFLICT', `${what} is in use by process ${holder} (lock ${lockFile}); stop that process or go through its agent API`)
    }
    await fs.rm(lockFile, { force: true })
  }
  throw new NmError('NM_CONFLICT', `${what}: could not take lock ${lockFile}, another process keeps taking it; retry`)
}

function pidAlive(pid: number, lockFile: string): boolean {
  if (pid === process.pid) return heldLocks.has(lockFile)
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function releaseLock(lockFile: string, mine: string): Promise<void> {
  // Only remove the lock while it is still ours (it may have been taken over as stale).
  heldLocks.delete(lockFile)
  const content = await fs.readFile(lockFile, 'utf8').catch(() => undefined)
  if (content === mine) await fs.rm(lockFile, { force: true })
}
