import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { buildSnapshot } from '../../registry/build-snapshot'
import { mustParseCidr, cidrContains } from '../../registry/cidr'
import { EMBEDDED_HISTORY, EmbeddedStore } from '../../registry/embedded-store'
import { isNmError, type NmErrorCode } from '../../registry/errors'
import type { ChangeBatch, CreateServiceInput } from '../../registry/store'

const NOW = '2025-01-02T03:04:05.000Z'
const HTTP = [{ name: 'http', port: 80, protocol: 'http' as const }]

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-embedded-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function openTemp(t: { teardown(fn: () => Promise<void> | void): void }, file?: string): Promise<EmbeddedStore> {
  const store = await EmbeddedStore.open(file ?? path.join(tempDir(t), 'registry.json'))
  t.teardown(() => store.close())
  return store
}

async function rejectsWith(t: Test, p: Promise<unknown>, code: NmErrorCode, re?: RegExp): Promise<void> {
  try {
    await p
    t.fail(`expected ${code}`)
  } catch (err) {
    t.ok(isNmError(err, code), `${code}: ${(err as Error).message}`)
    if (re) t.match((err as Error).message, re)
  }
}

const svcInput = (name: string): CreateServiceInput => ({ name, namespace: 'default', ports: HTTP })
const events = (b: ChangeBatch) => (b.type === 'events' ? b.events : [])

t.test('each write is one revision and one event, on disk and in memory', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'nested', 'registry.json')
  const store = await EmbeddedStore.open(file)
  t.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700, 'parent directory created 0700')
  t.equal((await store.load()).revision, 0)

  const web = await store.createService({ ...svcInput('web'), serviceAccount: 'web-sa' })
  await store.heartbeat('node-1', 60_000)
  const ep = await store.registerEndpoint({ service: 'default/web', node: 'node-1', address: '10.0.0.2', ports: { '80': 8080 }, lease: 'node-1' })
  await store.putRecord('node', { name: 'node-1', tunnelAddress: '10.0.0.2:15008', agentVersion: '0.1.0', startedAt: NOW })
  await store.putRecord('route', { service: 'default/web', rules: [{ matches: [], backends: [{ service: 'default/web', weight: 100 }] }] })
  await store.putRecord('defaults', { service: 'default/web', loadBalancing: 'random' })

  const state = await store.load()
  t.equal(state.revision, 5, 'five writes, five revisions (a heartbeat is not a registry change)')
  t.equal(state.cursor, '5')
  t.equal(fs.statSync(file).mode & 0o777, 0o600)
  t.match(ep.id, /^ep-[a-z2-7]{10}$/)
  t.equal(web.serviceAccount, 'web-sa')
  t.ok(cidrContains(mustParseCidr('127.77.0.0/16'), web.vip), 'VIP from the default CIDR')

  const batch = await store.readChanges('0', 0)
  t.same(events(batch).map((e) => e.revision), [1, 2, 3, 4, 5])
  t.same(events(batch)[0]!.changes.map((c) => c.op), ['put'])
  t.equal(batch.type === 'events' && batch.cursor, '5')

  await store.deleteService('default', 'web')
  const del = events(await store.readChanges('5', 0))
  t.equal(del.length, 1, 'the cascade is one event')
  t.equal(del[0]!.revision, 6)
  t.same(del[0]!.changes.map((c) => c.op === 'mesh' ? 'mesh' : `${c.op}:${c.kind}`).sort(),
    ['delete:defaults', 'delete:endpoint', 'delete:route', 'delete:service'])

  const { snapshot, rejected } = buildSnapshot(await store.load())
  t.same(rejected, [])
  t.equal(snapshot.services.size + snapshot.endpoints.size + snapshot.routes.size + snapshot.defaults.size, 0)
  t.equal(snapshot.nodes.size, 1)
  await store.close()

  const again = await EmbeddedStore.open(file)
  t.teardown(() => again.close())
  const reloaded = buildSnapshot(await again.load()).snapshot
  t.equal(reloaded.revision, 6, 'revision survives a reopen')
  t.same([...reloaded.nodes.values()], [...snapshot.nodes.values()])
  const afterReopen = await again.readChanges('2', 0)
  t.equal(afterReopen.type, 'resync', 'history from before the reopen is gone: resync')
})

t.test('refused writes change nothing', async (t) => {
  const store = await openTemp(t)
  await store.createService(svcInput('web'))
  await rejectsWith(t, store.createService(svcInput('web')), 'NM_ALREADY_EXISTS')
  await rejectsWith(t, store.createService({ name: 'Bad', namespace: 'default', ports: HTTP }), 'NM_BAD_ARGUMENT', /name: must be a DNS label/)
  await rejectsWith(t, store.deleteService('default', 'nope'), 'NM_NOT_FOUND')
  await rejectsWith(t, store.registerEndpoint({ service: 'default/nope', node: 'n', address: '10.0.0.1', ports: { '80': 1 } }), 'NM_NOT_FOUND')
  await rejectsWith(t, store.registerEndpoint({ service: 'default/web', node: 'n', address: '10.0.0.1', ports: { '81': 1 } }), 'NM_BAD_RECORD', /81 are not ports of the service/)
  await rejectsWith(t, store.putRecord('policy', { name: 'p', target: 'default/web', action: 'NOPE' } as never), 'NM_BAD_RECORD', /action/)
  await rejectsWith(t, store.deleteRecord('route', 'default/web'), 'NM_NOT_FOUND')
  await rejectsWith(t, store.deregisterEndpoint('default/web', 'ep-none'), 'NM_NOT_FOUND')
  await rejectsWith(t, store.heartbeat('node 1', 1000), 'NM_BAD_ARGUMENT')
  t.equal((await store.load()).revision, 1, 'only the one good write counted')
  t.equal(events(await store.readChanges('0', 0)).length, 1)
})

t.test('endpoint upsert by id, and ids never cross services', async (t) => {
  const store = await openTemp(t)
  await store.createService(svcInput('web'))
  await store.createService(svcInput('api'))
  const first = await store.registerEndpoint({ id: 'ep-fixed', service: 'default/web', node: 'n1', address: '10.0.0.1', ports: { '80': 8080 } })
  const second = await store.registerEndpoint({ id: 'ep-fixed', service: 'default/web', node: 'n1', address: '10.0.0.1', ports: { '80': 9090 }, weight: 5 })
  t.equal(second.createdAt, first.createdAt, 'createdAt kept on upsert')
  const snap = buildSnapshot(await store.load()).snapshot
  t.equal(snap.endpoints.size, 1)
  t.same(snap.endpoints.get('ep-fixed')!.ports, { '80': 9090 })
  t.equal(snap.endpoints.get('ep-fixed')!.weight, 5)
  await rejectsWith(t, store.registerEndpoint({ id: 'ep-fixed', service: 'default/api', node: 'n1', address: '10.0.0.1', ports: { '80': 1 } }), 'NM_CONFLICT')
  await rejectsWith(t, store.deregisterEndpoint('default/api', 'ep-fixed'), 'NM_NOT_FOUND', /has no endpoint/)
  await store.deregisterEndpoint('default/web', 'ep-fixed')
  t.equal(buildSnapshot(await store.load()).snapshot.endpoints.size, 0)
})

t.test('VIPs: unique over many creates, rotating, never network or broadcast', async (t) => {
  const store = await openTemp(t)
  await store.initMesh({ vipCidr: '10.50.0.0/24' })
  const vips = new Set<string>()
  for (let i = 0; i < 120; i++) {
    const s = await store.createService(svcInput(`svc-${i}`))
    t.notOk(vips.has(s.vip), `fresh VIP ${s.vip}`)
    vips.add(s.vip)
  }
  t.equal(vips.size, 120)
  t.notOk(vips.has('10.50.0.0'), 'no network address')
  t.notOk(vips.has('10.50.0.255'), 'no broadcast address')
  for (const v of vips) t.ok(cidrContains(mustParseCidr('10.50.0.0/24'), v), `${v} inside the CIDR`)

  const freed = buildSnapshot(await store.load()).snapshot.services.get('default/svc-7')!.vip
  await store.deleteService('default', 'svc-7')
  const next = await store.createService(svcInput('newcomer'))
  t.not(next.vip, freed, 'a freed VIP is not handed out again at once')
  t.notOk(vips.has(next.vip))
  await rejectsWith(t, store.initMesh({ vipCidr: '10.60.0.0/24' }), 'NM_CONFLICT', /while 120 services hold VIPs/)
  t.same((await store.getMesh()).vipCidr, '10.50.0.0/24')
})

t.test('VIP exhaustion on a /30', async (t) => {
  const store = await openTemp(t)
  const mesh = await store.initMesh({ vipCidr: '192.168.9.0/30', defaultDeny: true })
  t.same(mesh, { vipCidr: '192.168.9.0/30', trustDomain: 'nodemesh.local', defaultDeny: true })
  const a = await store.createService(svcInput('a'))
  const b = await store.createService(svcInput('b'))
  t.same([a.vip, b.vip].sort(), ['192.168.9.1', '192.168.9.2'])
  const before = (await store.load()).revision
  await rejectsWith(t, store.createService(svcInput('c')), 'NM_VIP_EXHAUSTED', /no free VIP left in 192\.168\.9\.0\/30/)
  t.equal((await store.load()).revision, before, 'a refused create writes nothing')
  await store.deleteService('default', 'a')
  const c = await store.createService(svcInput('c'))
  t.equal(c.vip, a.vip, 'the only free VIP is reused once it is the only one')
})

t.test('leases: expiry with a short TTL, reaping, heartbeat after a lapse', async (t) => {
  const store = await openTemp(t)
  await store.createService(svcInput('web'))
  const reg = (lease?: string) => store.registerEndpoint({ service: 'default/web', node: 'node-1', address: '10.0.0.3', ports: { '80': 8080 }, ...(lease ? { lease } : {}) })
  await rejectsWith(t, reg('node-1'), 'NM_LEASE_EXPIRED', /heartbeat the node/)
  t.same(await store.heartbeat('node-1', 150), { renewed: false }, 'a new lease is not a renewal')
  t.same(await store.heartbeat('node-1', 150), { renewed: true })
  const leased = await reg('node-1')
  const fixed = await reg()
  t.equal(await store.reapExpiredLeases(), 0, 'nothing lapsed yet')

  await new Promise((r) => setTimeout(r, 400))
  await rejectsWith(t, reg('node-1'), 'NM_LEASE_EXPIRED')
  const rev = (await store.load()).revision
  t.equal(await store.reapExpiredLeases(), 1)
  const after = await store.load()
  t.equal(after.revision, rev + 1, 'one revision for the reaped lease')
  t.notOk(after.records.endpoint.has(leased.id), 'leased endpoint reaped')
  t.ok(after.records.endpoint.has(fixed.id), 'static endpoint stays')
  t.same(await store.heartbeat('node-1', 150), { renewed: false }, 'lease was gone')

  const again = await reg('node-1')
  await new Promise((r) => setTimeout(r, 400))
  t.same(await store.heartbeat('node-1', 60_000), { renewed: false }, 'a lapsed lease reports not renewed')
  t.notOk((await store.load()).records.endpoint.has(again.id), 'and its endpoints are gone even before the reaper ran')
})

t.test('readChanges waits, and returns early when a write lands', async (t) => {
  const store = await openTemp(t)
  const idle = await store.readChanges('0', 50)
  t.same(idle, { type: 'events', events: [], cursor: '0' }, 'timeout: no events, same cursor')
  const pending = store.readChanges('0', 30_000)
  setTimeout(() => { void store.createService(svcInput('web')) }, 50)
  const batch = await pending
  t.same(events(batch).map((e) => e.revision), [1])
  t.same(await store.readChanges('9', 0), { type: 'resync', reason: 'cursor 9 is ahead of revision 1: the registry file was replaced' })
  t.equal((await store.readChanges('abc', 0)).type, 'resync')
})

t.test(`history keeps the last ${EMBEDDED_HISTORY} events; older cursors resync`, async (t) => {
  const store = await openTemp(t)
  const total = EMBEDDED_HISTORY + 5
  for (let i = 0; i < total; i++) {
    await store.putRecord('node', { name: `n${i}`, tunnelAddress: '10.0.0.1', agentVersion: '1', startedAt: NOW })
  }
  const oldest = total - EMBEDDED_HISTORY // cursor that still has every later event
  t.equal((await store.readChanges(String(oldest - 1), 0)).type, 'resync')
  const ok = await store.readChanges(String(oldest), 0)
  t.equal(events(ok).length, EMBEDDED_HISTORY)
  t.equal(events(ok)[0]!.revision, oldest + 1)
})

t.test('lock file: one process per registry file, stale locks taken over', async (t) => {
  const file = path.join(tempDir(t), 'registry.json')
  const store = await EmbeddedStore.open(file)
  t.equal(fs.readFileSync(`${file}.lock`, 'utf8'), `${process.pid}\n`)
  await rejectsWith(t, EmbeddedStore.open(file), 'NM_CONFLICT', new RegExp(`in use by process ${process.pid}`))
  await store.close()
  t.notOk(fs.existsSync(`${file}.lock`), 'close releases the lock')

  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  fs.writeFileSync(`${file}.lock`, `${dead.stdout}\n`)
  const taken = await EmbeddedStore.open(file)
  t.equal(fs.readFileSync(`${file}.lock`, 'utf8'), `${process.pid}\n`, 'stale lock of a dead pid taken over')
  await taken.close()

  fs.writeFileSync(`${file}.lock`, `${process.pid}\n`)
  const samePid = await EmbeddedStore.open(file)
  t.pass('a lock naming our pid but not held by us (pid reuse after a restart) is stale')
  await samePid.close()
  await rejectsWith(t, samePid.load(), 'NM_REGISTRY_UNREACHABLE', /is closed/)
})

t.test('a corrupted registry file is refused and left untouched', async (t) => {
  const file = path.join(tempDir(t), 'registry.json')
  fs.writeFileSync(file, '{"format":"nodemesh-registry/1","revision":')
  await rejectsWith(t, EmbeddedStore.open(file), 'NM_BAD_RECORD', /not valid JSON.*move it aside/)
  t.equal(fs.readFileSync(file, 'utf8'), '{"format":"nodemesh-registry/1","revision":', 'file kept as it was')
  t.notOk(fs.existsSync(`${file}.lock`), 'lock released after a failed open')
})

t.test('a hand-broken record in the file is rejected alone by the snapshot', async (t) => {
  const file = path.join(tempDir(t), 'registry.json')
  const s1 = await EmbeddedStore.open(file)
  await s1.createService(svcInput('web'))
  await s1.createService(svcInput('api'))
  await s1.close()
  const body = JSON.parse(fs.readFileSync(file, 'utf8'))
  body.records.service['default/api'].ports = 'eighty'
  fs.writeFileSync(file, JSON.stringify(body))
  const s2 = await openTemp(t, file)
  const { snapshot, rejected } = buildSnapshot(await s2.load())
  t.same([...snapshot.services.keys()], ['default/web'])
  t.same(rejected.map((r) => r.id), ['default/api'])
  const c = await s2.createService(svcInput('db'))
  t.notOk([body.records.service['default/api'].vip, body.records.service['default/web'].vip].includes(c.vip), 'VIPs of existing records stay taken')
})
