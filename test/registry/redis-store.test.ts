import { Writable } from 'node:stream'
import pino from 'pino'
import t, { type Test } from 'tap'
import Redis from 'ioredis'
import { cidrContains, mustParseCidr } from '../../registry/cidr'
import { isNmError, type NmErrorCode } from '../../registry/errors'
import { redactUrl } from '../../registry/redis-connection'
import { RedisStore } from '../../registry/redis-store'
import type { ChangeBatch, ChangeEvent, RecordChange, RegistryStore } from '../../registry/store'
import { freePort } from '../helpers/free-port'
import { startRedis, type TestRedis } from '../helpers/redis-server'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const WEB = { name: 'web', namespace: 'default', ports: [{ name: 'http', port: 80, protocol: 'http' as const }] }

let redis: TestRedis
let raw: Redis
let prefixes = 0

t.before(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url)
})
t.teardown(async () => {
  raw.disconnect()
  await redis.stop()
})

/** A store on its own prefix, so subtests share the server without seeing each other. */
async function freshStore(t: Test, opts: { streamMaxLen?: number } = {}): Promise<{ store: RedisStore; prefix: string }> {
  const prefix = `{nmtest${++prefixes}}:`
  const store = await RedisStore.open(redis.url, { prefix, ...opts })
  t.teardown(() => store.close())
  return { store, prefix }
}

async function rejectsWith(t: Test, p: Promise<unknown>, code: NmErrorCode, msg: string): Promise<Error | undefined> {
  try {
    await p
    t.fail(`${msg}: expected ${code}, but it resolved`)
    return undefined
  } catch (err) {
    t.ok(isNmError(err, code), `${msg}: ${code} (got ${(err as Error).message})`)
    return err as Error
  }
}

function events(b: ChangeBatch): ChangeEvent[] {
  if (b.type !== 'events') throw new Error(`expected events, got resync: ${b.reason}`)
  return [...b.events]
}

t.test('every write bumps the revision by one and appends exactly one matching stream entry', async (t) => {
  const { store, prefix } = await freshStore(t)
  let state = await store.load()
  t.equal(state.revision, 0)
  t.equal(state.cursor, '0-0')
  const step = async (label: string, write: () => Promise<unknown>, expect: (c: readonly RecordChange[]) => void): Promise<void> => {
    const before = await raw.xlen(`${prefix}changes`)
    await write()
    t.equal(await raw.xlen(`${prefix}changes`), before + 1, `${label}: one stream entry`)
    const batch = events(await store.readChanges(state.cursor, 10))
    t.equal(batch.length, 1, `${label}: one event after the cursor`)
    t.equal(batch[0].revision, state.revision + 1, `${label}: revision + 1`)
    expect(batch[0].changes)
    const next = await store.load()
    t.equal(next.revision, state.revision + 1, `${label}: load sees the new revision`)
    t.equal(Number(await raw.get(`${prefix}rev`)), next.revision)
    state = next
  }
  await step('initMesh', () => store.initMesh({ trustDomain: 'example.org' }), (c) => {
    t.equal(c.length, 1)
    t.equal(c[0].op, 'mesh')
    t.same(JSON.parse((c[0] as { value: string }).value), { vipCidr: '127.77.0.0/16', trustDomain: 'example.org', defaultDeny: false })
  })
  let vip = ''
  await step('createService', async () => { vip = (await store.createService(WEB)).vip }, (c) => {
    t.match(c, [{ op: 'put', kind: 'service', id: 'default/web' }])
    t.equal(JSON.parse((c[0] as { value: string }).value).vip, vip)
  })
  let epId = ''
  await step('registerEndpoint', async () => {
    epId = (await store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.5', ports: { 80: 8080 } })).id
  }, (c) => {
    t.match(epId, /^ep-[a-z2-7]{10}$/)
    t.match(c, [{ op: 'put', kind: 'endpoint', id: epId }])
    t.match(JSON.parse((c[0] as { value: string }).value), { id: epId, address: '10.0.0.5', ports: { 80: 8080 }, weight: 1, health: 'healthy' })
  })
  const route = { service: 'default/web', rules: [{ matches: [], backends: [{ service: 'default/web', weight: 1 }] }] }
  await step('putRecord route', () => store.putRecord('route', route), (c) => {
    t.match(c, [{ op: 'put', kind: 'route', id: 'default/web' }])
    t.same(JSON.parse((c[0] as { value: string }).value), route)
  })
  const node = { name: 'n1', tunnelAddress: '10.0.0.1:15008', agentVersion: '0.1.0', startedAt: new Date().toISOString() }
  await step('putRecord node', () => store.putRecord('node', node), (c) => t.match(c, [{ op: 'put', kind: 'node', id: 'n1' }]))
  await step('deleteRecord route', () => store.deleteRecord('route', 'default/web'), (c) => t.same(c, [{ op: 'delete', kind: 'route', id: 'default/web' }]))
  await step('deregisterEndpoint', () => store.deregisterEndpoint('default/web', epId), (c) => t.same(c, [{ op: 'delete', kind: 'endpoint', id: epId }]))
  await step('deleteService', () => store.deleteService('default', 'web'), (c) => t.same(c, [{ op: 'delete', kind: 'service', id: 'default/web' }]))

  // Failed and rejected writes change nothing.
  const rev = state.revision
  await rejectsWith(t, store.deleteService('default', 'web'), 'NM_NOT_FOUND', 'delete a missing service')
  await rejectsWith(t, store.deleteRecord('node', 'nope'), 'NM_NOT_FOUND', 'delete a missing node')
  await rejectsWith(t, store.deregisterEndpoint('default/web', epId), 'NM_NOT_FOUND', 'deregister a missing endpoint')
  await rejectsWith(t, store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.5', ports: { 80: 1 } }), 'NM_NOT_FOUND', 'endpoint of a missing service')
  await rejectsWith(t, store.putRecord('route', route), 'NM_NOT_FOUND', 'route of a missing service')
  await rejectsWith(t, store.createService({ ...WEB, name: 'Bad_Name' }), 'NM_BAD_ARGUMENT', 'invalid service name')
  await rejectsWith(t, store.putRecord('node', { ...node, tunnelAddress: 'not an address' }), 'NM_BAD_RECORD', 'invalid node')
  await rejectsWith(t, store.heartbeat('n1', -5), 'NM_BAD_ARGUMENT', 'negative ttl')
  await rejectsWith(t, store.readChanges('nonsense', 10), 'NM_BAD_ARGUMENT', 'bad cursor')
  t.equal((await store.load()).revision, rev, 'no revision for failed writes')
  t.same(events(await store.readChanges(state.cursor, 10)), [], 'no stream entries for failed writes')
})

t.test('load is consistent with its cursor; readChanges waits, times out empty, and delivers later writes', async (t) => {
  const { store } = await freshStore(t)
  await store.createService(WEB)
  await store.createService({ ...WEB, name: 'api' })
  const state = await store.load()
  t.equal(state.revision, 2)
  t.same([...state.records.service.keys()].sort(), ['default/api', 'default/web'])
  t.equal(state.mesh, undefined, 'mesh never initialised')

  const empty = await store.readChanges(state.cursor, 50)
  t.same(empty, { type: 'events', events: [], cursor: state.cursor }, 'times out with no events and the same cursor')

  const pending = store.readChanges(state.cursor, 10_000)
  await sleep(50)
  await store.deleteService('default', 'api')
  const got = events(await pending)
  t.equal(got.length, 1)
  t.equal(got[0].revision, state.revision + 1, 'the next revision after the loaded state')
  t.same(got[0].changes, [{ op: 'delete', kind: 'service', id: 'default/api' }])
})

t.test('a trimmed change history asks for a resync; a fresh load continues', async (t) => {
  const { store, prefix } = await freshStore(t)
  await store.createService(WEB)
  const old = await store.load()
  await store.createService({ ...WEB, name: 'api' })
  await raw.xtrim(`${prefix}changes`, 'MAXLEN', 0)
  t.match(await store.readChanges(old.cursor, 10), { type: 'resync', reason: /trimmed/ }, 'empty stream past the cursor')
  await store.createService({ ...WEB, name: 'db' })
  t.match(await store.readChanges(old.cursor, 10), { type: 'resync', reason: /trimmed/ }, 'oldest entry newer than the cursor')

  const fresh = await store.load()
  t.equal(fresh.revision, 3)
  t.same(events(await store.readChanges(fresh.cursor, 10)), [], 'no resync loop from a fresh cursor')

  await raw.del(`${prefix}changes`)
  t.match(await store.readChanges(fresh.cursor, 10), { type: 'resync', reason: /missing/ }, 'deleted stream')
})

t.test('the stream is capped at about streamMaxLen entries', async (t) => {
  const { store, prefix } = await freshStore(t, { streamMaxLen: 10 })
  for (let i = 0; i < 300; i++) await store.putRecord('policy', { name: 'p', target: '*', action: 'ALLOW', from: {}, to: {} })
  const len = await raw.xlen(`${prefix}changes`)
  t.ok(len < 300, `trimmed (length ${len})`)
  t.equal((await store.load()).revision, 300)
})

t.test('40 concurrent creates get 40 distinct VIPs inside the CIDR', async (t) => {
  const { store, prefix } = await freshStore(t)
  await store.initMesh({ vipCidr: '10.200.0.0/24' })
  const cidr = mustParseCidr('10.200.0.0/24')
  // Two connections racing, so the scripts really interleave between clients.
  const other = await RedisStore.open(redis.url, { prefix })
  t.teardown(() => other.close())
  const services = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).createService({ ...WEB, name: `s${i}` })))
  const vips = services.map((s) => s.vip)
  t.equal(new Set(vips).size, 40, 'all distinct')
  for (const v of vips) {
    t.ok(cidrContains(cidr, v), `${v} inside the CIDR`)
    t.not(v, '10.200.0.0', 'not the network address')
    t.not(v, '10.200.0.255', 'not the broadcast address')
  }
  t.equal((await store.load()).revision, 41)
})

t.test('VIPs: exhaustion, rotation, and vipCidr changes', async (t) => {
  const { store } = await freshStore(t)
  await store.initMesh({ vipCidr: '10.9.0.0/30' })
  const a = await store.createService({ ...WEB, name: 'a' })
  const b = await store.createService({ ...WEB, name: 'b' })
  t.same([a.vip, b.vip].sort(), ['10.9.0.1', '10.9.0.2'])
  const rev = (await store.load()).revision
  await rejectsWith(t, store.createService({ ...WEB, name: 'c' }), 'NM_VIP_EXHAUSTED', 'a /30 holds two services')
  t.equal((await store.load()).revision, rev)
  await rejectsWith(t, store.createService({ ...WEB, name: 'a' }), 'NM_ALREADY_EXISTS', 'existing name')

  await rejectsWith(t, store.initMesh({ vipCidr: '10.10.0.0/24' }), 'NM_CONFLICT', 'CIDR change with services present')
  t.equal((await store.getMesh()).vipCidr, '10.9.0.0/30')
  t.equal((await store.initMesh({ defaultDeny: true })).defaultDeny, true, 'other fields still change')
  await rejectsWith(t, store.initMesh({ vipCidr: '10.10.0.1/24' }), 'NM_BAD_ARGUMENT', 'host bits set')

  await store.deleteService('default', 'a')
  const c = await store.createService({ ...WEB, name: 'c' })
  t.equal(c.vip, a.vip, 'the freed VIP is the only one left')

  await store.deleteService('default', 'b')
  await store.deleteService('default', 'c')
  const mesh = await store.initMesh({ vipCidr: '10.20.0.0/29' })
  t.equal(mesh.vipCidr, '10.20.0.0/29', 'CIDR changes once no service exists')
  const d = await store.createService({ ...WEB, name: 'd' })
  await store.deleteService('default', 'd')
  const e = await store.createService({ ...WEB, name: 'e' })
  t.ok(cidrContains(mustParseCidr('10.20.0.0/29'), d.vip))
  t.not(e.vip, d.vip, 'a just-freed VIP is not handed out again at once')
})

t.test('deleteService cascades to endpoints, lease sets, route and defaults, and frees the VIP', async (t) => {
  const { store, prefix } = await freshStore(t)
  const web = await store.createService(WEB)
  await store.createService({ ...WEB, name: 'api' })
  await store.heartbeat('n1', 60_000)
  const leased = await store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.1', ports: { 80: 8080 }, lease: 'n1' })
  const fixed = await store.registerEndpoint({ service: 'default/web', node: 'n2', address: '10.0.0.2', ports: { 80: 8080 } })
  const apiEp = await store.registerEndpoint({ service: 'default/api', node: 'n1', address: '10.0.0.3', ports: { 80: 8080 }, lease: 'n1' })
  await store.putRecord('route', { service: 'default/web', rules: [{ matches: [], backends: [{ service: 'default/web', weight: 1 }] }] })
  await store.putRecord('defaults', { service: 'default/web', loadBalancing: 'round-robin' })
  t.same((await raw.smembers(`${prefix}lease:n1`)).sort(), [leased.id, apiEp.id].sort())
  const before = await store.load()

  await store.deleteService('default', 'web')
  const after = await store.load()
  t.equal(after.revision, before.revision + 1, 'one revision')
  t.same([...after.records.service.keys()], ['default/api'])
  t.same([...after.records.endpoint.keys()], [apiEp.id], 'only the other service keeps its endpoint')
  t.equal(after.records.route.size, 0)
  t.equal(after.records.defaults.size, 0)
  t.same(await raw.smembers(`${prefix}lease:n1`), [apiEp.id], 'removed from the lease set')
  t.notOk(Object.keys(await raw.hgetall(`${prefix}vips`)).includes(web.vip), 'VIP freed')
  const [ev] = events(await store.readChanges(before.cursor, 10))
  t.same(new Set(ev.changes.map((c) => `${c.op} ${'kind' in c ? c.kind : ''} ${'id' in c ? c.id : ''}`)), new Set([
    `delete endpoint ${leased.id}`, `delete endpoint ${fixed.id}`, 'delete route default/web', 'delete defaults default/web', 'delete service default/web',
  ]))
})

t.test('endpoints: upsert by id moves lease sets; ids of other services conflict', async (t) => {
  const { store, prefix } = await freshStore(t)
  await store.createService(WEB)
  await store.createService({ ...WEB, name: 'api' })
  await store.heartbeat('n1', 60_000)
  await store.heartbeat('n2', 60_000)
  const ep = await store.registerEndpoint({ id: 'fixed-1', service: 'default/web', node: 'n1', address: '10.0.0.1', ports: { 80: 1 }, lease: 'n1' })
  t.equal(ep.id, 'fixed-1')
  await store.registerEndpoint({ id: 'fixed-1', service: 'default/web', node: 'n2', address: '10.0.0.2', ports: { 80: 2 }, lease: 'n2' })
  const state = await store.load()
  t.equal(state.records.endpoint.size, 1)
  t.match(JSON.parse(state.records.endpoint.get('fixed-1') ?? '{}'), { node: 'n2', lease: 'n2', address: '10.0.0.2' })
  t.same(await raw.smembers(`${prefix}lease:n1`), [])
  t.same(await raw.smembers(`${prefix}lease:n2`), ['fixed-1'])
  await rejectsWith(t, store.registerEndpoint({ id: 'fixed-1', service: 'default/api', node: 'n1', address: '10.0.0.1', ports: { 80: 1 } }), 'NM_CONFLICT', 'id of another service')
  await rejectsWith(t, store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.1', ports: { 81: 1 } }), 'NM_BAD_RECORD', 'port the service lacks')
  await rejectsWith(t, store.deregisterEndpoint('default/api', 'fixed-1'), 'NM_NOT_FOUND', 'endpoint of another service')
})

t.test('leases run on the Redis clock: reap, lapsed heartbeat, lapsed registration', async (t) => {
  const { store, prefix } = await freshStore(t)
  await store.createService(WEB)
  t.same(await store.heartbeat('n1', 300), { renewed: false }, 'a new lease is not a renewal')
  t.same(await store.heartbeat('n1', 300), { renewed: true })
  const ep = await store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.1', ports: { 80: 1 }, lease: 'n1' })
  const fixed = await store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.9', ports: { 80: 1 } })
  t.equal(await store.reapExpiredLeases(), 0, 'nothing lapsed yet')
  const before = await store.load()

  await sleep(600) // the lease lapses
  await rejectsWith(t, store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.2', ports: { 80: 1 }, lease: 'n1' }), 'NM_LEASE_EXPIRED', 'lapsed lease')
  await rejectsWith(t, store.registerEndpoint({ service: 'default/web', node: 'n9', address: '10.0.0.2', ports: { 80: 1 }, lease: 'n9' }), 'NM_LEASE_EXPIRED', 'never started')
  t.equal(await store.reapExpiredLeases(), 1, 'one lease reaped')
  const after = await store.load()
  t.equal(after.revision, before.revision + 1, 'one revision for the reap')
  t.same([...after.records.endpoint.keys()], [fixed.id], 'the leased endpoint is gone, the static one stays')
  t.same(events(await store.readChanges(before.cursor, 10)).map((e) => e.changes), [[{ op: 'delete', kind: 'endpoint', id: ep.id }]])
  t.equal(await raw.exists(`${prefix}lease:n1`), 0)
  t.equal(await store.reapExpiredLeases(), 0, 'nothing left to reap')
  t.equal((await store.load()).revision, after.revision, 'an empty reap writes nothing')
  t.same(await store.heartbeat('n1', 300), { renewed: false }, 'heartbeat after the reap is not a renewal')

  // A lapsed lease met by a heartbeat before any reaper: the heartbeat reaps it itself.
  const ep2 = await store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.3', ports: { 80: 1 }, lease: 'n1' })
  await sleep(600)
  t.same(await store.heartbeat('n1', 60_000), { renewed: false })
  t.notOk((await store.load()).records.endpoint.has(ep2.id), 'reaped by the heartbeat')
  const ep3 = await store.registerEndpoint({ service: 'default/web', node: 'n1', address: '10.0.0.4', ports: { 80: 1 }, lease: 'n1' })
  t.ok((await store.load()).records.endpoint.has(ep3.id), 'registration works again on the renewed lease')
})

t.test('prefixes isolate registries on one server', async (t) => {
  const { store: one } = await freshStore(t)
  const { store: two } = await freshStore(t)
  const a = await one.createService(WEB)
  const b = await two.createService(WEB)
  t.equal(a.vip, b.vip, 'each prefix allocates from its own pool')
  await one.createService({ ...WEB, name: 'only-one' })
  t.same([...(await two.load()).records.service.keys()], ['default/web'])
  t.equal((await one.load()).revision, 2)
  t.equal((await two.load()).revision, 1)
  await two.deleteService('default', 'web')
  t.ok((await one.load()).records.service.has('default/web'))
})

t.test('close ends a pending readChanges promptly', async (t) => {
  const store = await RedisStore.open(redis.url, { prefix: '{nmclose}:' })
  const cursor = (await store.load()).cursor
  const pending = store.readChanges(cursor, 60_000).then(() => 'resolved', (err: unknown) => (isNmError(err, 'NM_REGISTRY_UNREACHABLE') ? 'unreachable' : String(err)))
  await sleep(100)
  await store.close()
  const outcome = await Promise.race([pending, sleep(20_000).then(() => 'still pending')])
  t.equal(outcome, 'unreachable')
  await rejectsWith(t, store.load(), 'NM_REGISTRY_UNREACHABLE', 'calls after close')
})

t.test('unreachable Redis: clear errors, fast for the CLI, and no password anywhere', async (t) => {
  const port = await freePort()
  const url = `redis://admin:s3cr3t-pw@127.0.0.1:${port}`
  const err = await rejectsWith(t, RedisStore.open(url), 'NM_REGISTRY_UNREACHABLE', 'nothing listening')
  t.notMatch(err?.message ?? '', /s3cr3t-pw/, 'password not in the message')
  t.match(err?.message ?? '', `127.0.0.1:${port}`)
  t.match(err?.message ?? '', /NODEMESH_REDIS_URL/)
  t.equal(redactUrl(url), `redis://admin:***@127.0.0.1:${port}`)
  t.equal(redactUrl('redis://127.0.0.1:6379/2'), 'redis://127.0.0.1:6379/2')
  t.notMatch(redactUrl('redis://u:p%40ss@[bad'), /p%40ss/)
})

t.test('the agent role logs connection errors without the password', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb() } })
  const port = await freePort()
  const store = await RedisStore.open(`redis://ops:pa55-w0rd-xyz@127.0.0.1:${port}`, { role: 'agent', log: pino({ level: 'debug' }, sink) })
  t.teardown(() => store.close())
  const err = await rejectsWith(t, store.load(), 'NM_REGISTRY_UNREACHABLE', 'offline agent call')
  t.notMatch(err?.message ?? '', /pa55-w0rd-xyz/)
  for (let i = 0; i < 100 && lines.length === 0; i++) await sleep(100)
  t.ok(lines.length > 0, 'the connection error is logged')
  t.notMatch(lines.join(''), /pa55-w0rd-xyz/, 'no password in the logs')
  t.match(lines.join(''), /ops:\*\*\*@127\.0\.0\.1/, 'the redacted URL names the registry')
})

t.test('scripts still run after the server forgets its script cache', async (t) => {
  const { store } = await freshStore(t)
  await store.createService(WEB)
  await raw.script('FLUSH')
  await store.createService({ ...WEB, name: 'api' })
  t.equal((await store.load()).revision, 2)
})

t.test('Redis killed: CLI calls reject with NM_REGISTRY_UNREACHABLE; the agent role reconnects', async (t) => {
  const own = await startRedis()
  t.teardown(() => own.stop())
  const cli = await RedisStore.open(own.url, { role: 'cli' })
  const agent = await RedisStore.open(own.url, { role: 'agent' })
  t.teardown(() => cli.close())
  t.teardown(() => agent.close())
  await cli.createService(WEB)
  t.equal((await agent.load()).revision, 1)

  const settle = (p: Promise<unknown>): Promise<string> =>
    p.then(() => 'resolved', (err: unknown) => (isNmError(err, 'NM_REGISTRY_UNREACHABLE') ? 'unreachable' : String(err)))
  const pendingRead = settle(agent.readChanges((await agent.load()).cursor, 60_000))
  await sleep(100)
  await own.kill()
  t.equal(await Promise.race([pendingRead, sleep(15_000).then(() => 'hung')]), 'unreachable', 'a pending change read fails with the server')
  const outcome = await Promise.race([
    cli.load().then(() => 'resolved', (err: unknown) => (isNmError(err, 'NM_REGISTRY_UNREACHABLE') ? 'unreachable' : String(err))),
    sleep(15_000).then(() => 'hung'),
  ])
  t.equal(outcome, 'unreachable', 'the CLI role rejects instead of hanging')
  await rejectsWith(t, cli.createService({ ...WEB, name: 'x' }), 'NM_REGISTRY_UNREACHABLE', 'writes too')
  await rejectsWith(t, agent.load(), 'NM_REGISTRY_UNREACHABLE', 'the agent role rejects while offline')

  await own.start()
  let state: Awaited<ReturnType<RegistryStore['load']>> | undefined
  for (let i = 0; i < 100 && !state; i++) {
    state = await agent.load().catch(async () => { await sleep(200); return undefined })
  }
  t.ok(state, 'the agent role reconnects by itself')
  t.equal(state?.revision, 0, 'to the (empty) restarted server')
})
