/**
 * The registry for one host, without Redis: one JSON file (mesh, revision, records, VIP
 * allocations, leases) rewritten atomically on every write, plus an in-process change feed.
 * Each write builds the next state aside and swaps it in only once it is on disk, so a failed
 * write changes neither the file nor memory.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { mustParseCidr } from './cidr'
import { writeFileAtomic } from './atomic-write'
import { readRegistryFile, encodeRegistryFile } from './embedded-file'
import { endLapsedLease, lapsedLeases, leaseLive, renewLease } from './embedded-leases'
import { Draft, endpointService, jsonField, type EmbeddedState } from './embedded-state'
import { NmError } from './errors'
import { acquireFileLock, type FileLock } from './file-lock'
import { serviceKey, splitServiceKey } from './names'
import type { Endpoint, MeshConfig, Service } from './records'
import { endpointFromInput, newEndpointId, serviceFromInput } from './record-from-input'
import {
  recordId,
  type ChangeBatch, type ChangeEvent, type CreateServiceInput, type HeartbeatResult, type PutableKind, type PutableRecord,
  type RegisterEndpointInput, type RegistryState, type RegistryStore,
} from './store'
import {
  requireStoredMesh, requireStoredService, validateCreateService, validateHeartbeat, validateMeshInput, validatePutRecord,
  validateRegisterEndpoint,
} from './validate-input'
import { allocateVip } from './vip-allocation'

/** Change events kept for readChanges; a cursor older than this must resync in full. */
export const EMBEDDED_HISTORY = 1000

export class EmbeddedStore implements RegistryStore {
  readonly description: string
  private state: EmbeddedState
  private history: ChangeEvent[] = []
  private waiters = new Set<() => void>()
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  private constructor(private readonly file: string, private readonly lock: FileLock, state: EmbeddedState) {
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
      return new EmbeddedStore(abs, lock, await readRegistryFile(abs))
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
      // Service records count too, in case the allocation table was edited by hand.
      const held = [...d.base.vips.values(), ...[...d.base.records.service.values()].map((raw) => jsonField(raw, 'vip'))]
      const vip = allocateVip(cidr, d.vipCursor, held)
      if (!vip.ok) {
        throw new NmError('NM_VIP_EXHAUSTED', `no free VIP left in ${cidr.text} (${vip.inUse} in use); delete unused services, or (with no services) widen the CIDR with mesh init`)
      }
      const service: Service = { ...serviceFromInput(input, new Date().toISOString()), vip: vip.vip }
      d.put('service', key, service)
      d.setVips().set(key, service.vip)
      d.vipCursor = vip.cursor
      return service
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
      const key = String(input.service)
      splitServiceKey(key) // NM_BAD_ARGUMENT unless NAMESPACE/NAME
      const rawService = d.base.records.service.get(key)
      if (rawService === undefined) throw new NmError('NM_NOT_FOUND', `service ${key} does not exist; create it before registering endpoints`)
      validateRegisterEndpoint(input, requireStoredService(key, rawService))
      if (input.lease !== undefined && !leaseLive(d.base.leases, input.lease, Date.now())) {
        throw new NmError('NM_LEASE_EXPIRED', `the lease of node ${input.lease} has expired or was never started: heartbeat the node, then register its endpoints again`)
      }
      let id = input.id
      const existing = id === undefined ? undefined : d.base.records.endpoint.get(id)
      if (existing !== undefined && endpointService(existing) !== key) {
        throw new NmError('NM_CONFLICT', `endpoint id ${id} belongs to service ${endpointService(existing)}; pick another id`)
      }
      while (id === undefined || (existing === undefined && input.id === undefined && d.base.records.endpoint.has(id))) id = newEndpointId()
      const created = existing === undefined ? undefined : jsonField(existing, 'createdAt')
      const endpoint = endpointFromInput(input, id, typeof created === 'string' ? created : new Date().toISOString())
      d.put('endpoint', id, endpoint)
      return endpoint
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
    validateHeartbeat(node, ttlMs)
    return this.write((d) => ({ renewed: renewLease(d, node, ttlMs, Date.now()) }))
  }

  async reapExpiredLeases(): Promise<number> {
    this.assertOpen()
    let reaped = 0
    for (const node of lapsedLeases(this.state.leases, Date.now())) {
      // One write (one revision) per lease; a heartbeat that landed meanwhile wins.
      if (await this.write((d) => endLapsedLease(d, node, Date.now()))) reaped++
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

  private mesh(s: EmbeddedState): MeshConfig {
    return requireStoredMesh(s.mesh, this.file)
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
      const next: EmbeddedState = {
        revision: changed ? d.base.revision + 1 : d.base.revision,
        mesh: d.mesh,
        records: d.records ?? d.base.records,
        vips: d.vips ?? d.base.vips,
        vipCursor: d.vipCursor,
        leases: d.leases ?? d.base.leases,
      }
      if (!changed && next.leases === d.base.leases && next.vipCursor === d.base.vipCursor) return result
      await writeFileAtomic(this.file, encodeRegistryFile(next)).catch((err: Error) => {
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
