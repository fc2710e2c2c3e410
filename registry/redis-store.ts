/**
 * The registry on Redis (standalone; the hash-tagged layout also fits Redis Cluster). Reads are
 * plain commands or one MULTI; every write is one Lua script (redis-scripts.ts) that bumps the
 * revision and appends one change-stream entry (read back by redis-change-stream.ts). Leases
 * run on the Redis server's clock. Connections and error mapping: redis-connection.ts.
 */
import type { Logger } from '../agent/observe/logger'
import { hostOffsets, parseCidr } from './cidr'
import { NmError } from './errors'
import { serviceKey, splitServiceKey } from './names'
import { endpointFromInput, newEndpointId, serviceFromInput } from './record-from-input'
import { DEFAULT_MESH_CONFIG, RECORD_KINDS, type Endpoint, type MeshConfig, type RecordKind, type Service } from './records'
import {
  CREATE_SERVICE, DELETE_RECORD, DELETE_SERVICE, DEREGISTER_ENDPOINT, HEARTBEAT, INIT_MESH, PUT_RECORD,
  REAP_LEASES, REGISTER_ENDPOINT, runWithLeaseKeys, type LuaScript,
} from './redis-scripts'
import { parseChangeEntries, streamGap } from './redis-change-stream'
import { RedisConnections, type RedisRole } from './redis-connection'
import {
  recordId, type ChangeBatch, type CreateServiceInput, type HeartbeatResult, type PutableKind, type PutableRecord,
  type RegisterEndpointInput, type RegistryState, type RegistryStore,
} from './store'
import {
  requireStoredMesh, requireStoredService, validateCreateService, validateHeartbeat, validateMeshInput, validatePutRecord,
  validateRegisterEndpoint,
} from './validate-input'
import { parseMeshConfig } from './validate-record'

export interface RedisStoreOptions {
  /** `cli` fails fast; `agent` keeps reconnecting with capped backoff. */
  readonly role?: RedisRole
  /** Key prefix; keep a `{hash tag}` in it so every key lands in one Cluster slot. */
  readonly prefix?: string
  /** Approximate number of change-stream entries kept (XADD MAXLEN ~). */
  readonly streamMaxLen?: number
  readonly log?: Logger
}

export const DEFAULT_PREFIX = '{nodemesh}:'
const HASH_OF: { readonly [K in RecordKind]: string } = {
  service: 'services', endpoint: 'endpoints', node: 'nodes', policy: 'policies', route: 'routes', defaults: 'defaults',
}
const PUTABLE: readonly PutableKind[] = ['node', 'policy', 'route', 'defaults']

function keysFor(p: string) {
  const hash = (kind: RecordKind): string => p + HASH_OF[kind]
  return {
    rev: `${p}rev`, mesh: `${p}mesh`, vips: `${p}vips`, vipCursor: `${p}vip-cursor`, leases: `${p}leases`,
    changes: `${p}changes`, leasePrefix: `${p}lease:`, hash,
  }
}

export class RedisStore implements RegistryStore {
  readonly description: string
  private readonly k: ReturnType<typeof keysFor>
  private readonly maxLen: number

  private constructor(private readonly redis: RedisConnections, opts: RedisStoreOptions) {
    this.description = redis.description
    this.k = keysFor(opts.prefix ?? DEFAULT_PREFIX)
    this.maxLen = opts.streamMaxLen ?? 10_000
  }

  /** Connects; the CLI role waits for the connection and fails fast, the agent role does not wait. */
  static async open(url: string, opts: RedisStoreOptions = {}): Promise<RedisStore> {
    if (opts.prefix !== undefined && opts.prefix.length === 0) throw new NmError('NM_BAD_ARGUMENT', 'the registry key prefix must not be empty')
    if (opts.streamMaxLen !== undefined && !(Number.isInteger(opts.streamMaxLen) && opts.streamMaxLen > 0)) {
      throw new NmError('NM_BAD_ARGUMENT', `streamMaxLen must be a positive integer, got ${opts.streamMaxLen}`)
    }
    return new RedisStore(await RedisConnections.open(url, opts.role ?? 'cli', opts.log), opts)
  }

  private get conn(): RedisConnections['main'] {
    return this.redis.main
  }

  async load(): Promise<RegistryState> {
    return this.redis.run(async () => {
      const k = this.k
      let tx = this.conn.multi().get(k.rev).get(k.mesh)
      for (const kind of RECORD_KINDS) tx = tx.hgetall(k.hash(kind))
      const res = await tx.xrevrange(k.changes, '+', '-', 'COUNT', 1).exec()
      if (!res) throw new Error('Connection is closed.')
      for (const [err] of res) if (err) throw err
      const values = res.map(([, v]) => v)
      const records = Object.fromEntries(RECORD_KINDS.map((kind, i) => [kind, toMap(values[2 + i])])) as unknown as RegistryState['records']
      const last = values[2 + RECORD_KINDS.length] as [string, string[]][]
      return {
        revision: Number(values[0] ?? 0),
        cursor: last.length > 0 ? last[0][0] : '0-0',
        mesh: (values[1] as string | null) ?? undefined,
        records,
      }
    })
  }

  async readChanges(cursor: string, blockMs: number): Promise<ChangeBatch> {
    if (!/^\d+-\d+$/.test(cursor)) throw new NmError('NM_BAD_ARGUMENT', `"${cursor}" is not a change cursor (want a stream id such as 0-0)`)
    return this.redis.run(async () => {
      const gap = streamGap(await this.streamInfo(), cursor)
      if (gap) return { type: 'resync', reason: gap }
      const reader = await this.redis.reader()
      const block = Math.max(0, Math.floor(blockMs))
      const reply = block > 0
        ? await reader.xread('COUNT', 500, 'BLOCK', block, 'STREAMS', this.k.changes, cursor)
        : await reader.xread('COUNT', 500, 'STREAMS', this.k.changes, cursor)
      return parseChangeEntries(reply?.[0]?.[1] ?? [], cursor)
    })
  }

  async getMesh(): Promise<MeshConfig> {
    return this.redis.run(async () => this.meshOf(await this.conn.get(this.k.mesh)))
  }

  async initMesh(config: Partial<MeshConfig>): Promise<MeshConfig> {
    let merged: MeshConfig = DEFAULT_MESH_CONFIG
    await this.script(INIT_MESH, async () => {
      const raw = await this.conn.get(this.k.mesh)
      const parsed = parseMeshConfig(raw ?? undefined)
      // A corrupt stored config is replaced; the defaults stand in for what it held.
      const current = parsed.ok ? parsed.value : DEFAULT_MESH_CONFIG
      merged = validateMeshInput(current, config)
      const k = this.k
      return {
        keys: [k.mesh, k.hash('service'), k.vipCursor, k.rev, k.changes],
        args: [raw ?? '', raw === null ? '0' : '1', JSON.stringify(merged), current.vipCidr, merged.vipCidr, this.maxLen],
      }
    })
    return merged
  }

  async createService(input: CreateServiceInput): Promise<Service> {
    validateCreateService(input)
    const id = serviceKey(input.namespace, input.name)
    const base = serviceFromInput(input, new Date().toISOString())
    const [json] = await this.script(CREATE_SERVICE, async () => {
      // The script re-checks that the mesh config is still the one this range came from.
      const raw = await this.conn.get(this.k.mesh)
      const cidr = parseCidr(this.meshOf(raw).vipCidr)
      if (!cidr.ok) throw new NmError('NM_BAD_RECORD', `mesh vipCidr: ${cidr.reason}; fix it with mesh init`)
      const { first, last } = hostOffsets(cidr.value)
      const k = this.k
      return {
        keys: [k.hash('service'), k.mesh, k.vips, k.vipCursor, k.rev, k.changes],
        args: [id, JSON.stringify(base), raw ?? '', raw === null ? '0' : '1', cidr.value.base + first, cidr.value.base + last, this.maxLen],
      }
    })
    return requireStoredService(id, String(json))
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    const k = this.k
    await this.script(DELETE_SERVICE, async () => ({
      keys: [k.hash('service'), k.hash('endpoint'), k.hash('route'), k.hash('defaults'), k.vips, k.rev, k.changes],
      args: [serviceKey(namespace, name), this.maxLen, k.leasePrefix],
    }))
  }

  async registerEndpoint(input: RegisterEndpointInput): Promise<Endpoint> {
    splitServiceKey(String(input.service))
    const id = input.id ?? newEndpointId()
    const createdAt = new Date().toISOString()
    let ep: Endpoint | undefined
    await this.script(REGISTER_ENDPOINT, async () => {
      const raw = await this.conn.hget(this.k.hash('service'), input.service)
      if (raw === null) throw new NmError('NM_NOT_FOUND', `service ${input.service} does not exist: create it before registering endpoints`)
      validateRegisterEndpoint(input, requireStoredService(input.service, raw))
      ep = endpointFromInput(input, id, createdAt)
      const k = this.k
      return {
        keys: [k.hash('service'), k.hash('endpoint'), k.leases, k.rev, k.changes],
        args: [input.service, raw, id, JSON.stringify(ep), input.lease ?? '', this.maxLen, k.leasePrefix],
      }
    })
    return ep as Endpoint
  }

  async deregisterEndpoint(service: string, id: string): Promise<void> {
    const k = this.k
    await this.script(DEREGISTER_ENDPOINT, async () => ({
      keys: [k.hash('endpoint'), k.rev, k.changes], args: [service, id, this.maxLen, k.leasePrefix],
    }))
  }

  async putRecord<K extends PutableKind>(kind: K, record: PutableRecord[K]): Promise<void> {
    checkPutable(kind)
    const value = validatePutRecord(kind, record)
    const id = recordId(kind, value as unknown as { [k: string]: unknown })
    const k = this.k
    await this.script(PUT_RECORD, async () => ({
      keys: [k.hash(kind), k.hash('service'), k.rev, k.changes],
      args: [kind, id, JSON.stringify(value), this.maxLen, kind === 'route' || kind === 'defaults' ? '1' : '0'],
    }))
  }

  async deleteRecord(kind: PutableKind, id: string): Promise<void> {
    checkPutable(kind)
    const k = this.k
    await this.script(DELETE_RECORD, async () => ({ keys: [k.hash(kind), k.rev, k.changes], args: [kind, id, this.maxLen] }))
  }

  async heartbeat(node: string, ttlMs: number): Promise<HeartbeatResult> {
    validateHeartbeat(node, ttlMs)
    const k = this.k
    const [renewed] = await this.script(HEARTBEAT, async () => ({
      keys: [k.leases, k.leasePrefix + node, k.hash('endpoint'), k.rev, k.changes], args: [node, ttlMs, this.maxLen],
    }))
    return { renewed: Number(renewed) === 1 }
  }

  async reapExpiredLeases(): Promise<number> {
    const k = this.k
    const [count] = await this.script(REAP_LEASES, async () => ({
      keys: [k.leases, k.hash('endpoint'), k.rev, k.changes], args: [this.maxLen, k.leasePrefix],
    }))
    return Number(count)
  }

  close(): Promise<void> {
    return this.redis.close()
  }

  // ---- plumbing ----

  private meshOf(raw: string | null): MeshConfig {
    return requireStoredMesh(raw ?? undefined, this.description)
  }

  private script(s: LuaScript, prepare: Parameters<typeof runWithLeaseKeys>[2]): Promise<unknown[]> {
    return this.redis.run(() => runWithLeaseKeys(this.conn, s, prepare, (node) => this.k.leasePrefix + node))
  }

  private async streamInfo(): Promise<unknown[] | undefined> {
    try {
      return (await this.conn.xinfo('STREAM', this.k.changes)) as unknown[]
    } catch (err) {
      if (/no such key/i.test(String((err as Error)?.message))) return undefined
      throw err
    }
  }
}

function checkPutable(kind: string): void {
  if (!(PUTABLE as readonly string[]).includes(kind)) throw new NmError('NM_BAD_ARGUMENT', `cannot put or delete a "${kind}" record (want one of ${PUTABLE.join(', ')})`)
}

function toMap(v: unknown): Map<string, string> {
  if (Array.isArray(v)) {
    const m = new Map<string, string>()
    for (let i = 0; i + 1 < v.length; i += 2) m.set(String(v[i]), String(v[i + 1]))
    return m
  }
  return new Map(Object.entries((v ?? {}) as Record<string, string>))
}
