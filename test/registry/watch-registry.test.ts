import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import t from 'tap'
import { buildSnapshot } from '../../registry/build-snapshot'
import { EMBEDDED_HISTORY, EmbeddedStore } from '../../registry/embedded-store'
import type { RejectedRecord, Snapshot } from '../../registry/snapshot'
import type { ChangeBatch, RegistryState, RegistryStore } from '../../registry/store'
import { backoffDelay, followsOn, watchRegistry, type RegistryWatcher } from '../../registry/watch-registry'

const NOW = '2025-01-02T03:04:05.000Z'
const HTTP = [{ name: 'http', port: 80, protocol: 'http' as const }]

type Line = { level: number; msg: string; [k: string]: unknown }
function captureLog(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = []
  const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Line) } })
  return { log, lines }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function tempFile(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-watch-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, 'registry.json')
}

/**
 * Passes every call through to a real store, but can hold readChanges back (a slow reader)
 * and can be pointed at another store (the registry restarted), as happens in production.
 */
class SwitchableStore implements RegistryStore {
  private gate: Promise<void> | undefined
  private openGate: (() => void) | undefined
  constructor(public target: EmbeddedStore) {}
  get description(): string { return this.target.description }
  hold(): void { this.gate = new Promise((r) => { this.openGate = r }) }
  release(): void { this.openGate?.(); this.gate = undefined }
  load(): Promise<RegistryState> { return this.target.load() }
  async readChanges(cursor: string, blockMs: number): Promise<ChangeBatch> {
    if (this.gate) await this.gate
    return this.target.readChanges(cursor, blockMs)
  }
  getMesh = () => this.target.getMesh()
  initMesh: RegistryStore['initMesh'] = (c) => this.target.initMesh(c)
  createService: RegistryStore['createService'] = (i) => this.target.createService(i)
  deleteService: RegistryStore['deleteService'] = (n, s) => this.target.deleteService(n, s)
  registerEndpoint: RegistryStore['registerEndpoint'] = (i) => this.target.registerEndpoint(i)
  deregisterEndpoint: RegistryStore['deregisterEndpoint'] = (s, i) => this.target.deregisterEndpoint(s, i)
  putRecord: RegistryStore['putRecord'] = (k, r) => this.target.putRecord(k, r)
  deleteRecord: RegistryStore['deleteRecord'] = (k, i) => this.target.deleteRecord(k, i)
  heartbeat: RegistryStore['heartbeat'] = (n, ttl) => this.target.heartbeat(n, ttl)
  reapExpiredLeases = () => this.target.reapExpiredLeases()
  close = () => this.target.close()
}

function collect(): { seen: Array<{ s: Snapshot; rejected: readonly RejectedRecord[] }>; onSnapshot: (s: Snapshot, r: readonly RejectedRecord[]) => void } {
  const seen: Array<{ s: Snapshot; rejected: readonly RejectedRecord[] }> = []
  return { seen, onSnapshot: (s, rejected) => { seen.push({ s, rejected }) } }
}

function watch(t: { teardown(fn: () => Promise<void>): void }, opts: Parameters<typeof watchRegistry>[0]): RegistryWatcher {
  const w = watchRegistry(opts)
  t.teardown(() => w.close())
  return w
}

t.test('pure parts: backoff bounds and gap detection', async (t) => {
  for (let attempt = 0; attempt < 30; attempt++) {
    for (const random of [0, 0.5, 0.999]) {
      const d = backoffDelay(attempt, random)
      t.ok(d >= 100 && d <= 5000, `attempt ${attempt}: ${d} within 100..5000`)
    }
  }
  t.ok(backoffDelay(10, 0) > backoffDelay(1, 0.999), 'grows with attempts')
  const ev = (revision: number) => ({ revision, changes: [] })
  t.ok(followsOn(5, []))
  t.ok(followsOn(5, [ev(6), ev(7)]))
  t.ok(followsOn(5, [ev(5), ev(6)]), 're-delivered event is skipped')
  t.notOk(followsOn(5, [ev(7)]), 'gap')
  t.notOk(followsOn(5, [ev(6), ev(8)]), 'gap in the middle')
})

t.test('initial snapshot, then changes applied', async (t) => {
  const store = await EmbeddedStore.open(tempFile(t))
  t.teardown(() => store.close())
  await store.createService({ name: 'web', namespace: 'default', ports: HTTP })
  const { log } = captureLog()
  const { seen, onSnapshot } = collect()
  const w = watch(t, { store, log, onSnapshot, blockMs: 10_000 })
  t.equal(w.current(), undefined, 'nothing before the first load')
  await waitFor('first snapshot', () => seen.length === 1)
  t.equal(seen[0]!.s.revision, 1)
  t.same([...seen[0]!.s.services.keys()], ['default/web'])
  t.equal(w.status().connected, true)
  t.type(w.status().lastSyncAt, 'number')

  const before = seen[0]!.s
  await store.createService({ name: 'api', namespace: 'default', ports: HTTP })
  await waitFor('second snapshot', () => seen.length === 2)
  t.equal(seen[1]!.s.revision, 2)
  t.same([...seen[1]!.s.services.keys()].sort(), ['default/api', 'default/web'])
  t.equal(before.services.size, 1, 'the earlier snapshot is unchanged')
  t.equal(w.current(), seen[1]!.s)
  t.equal(w.status().revision, 2)
})

t.test('a saved initial snapshot at the same revision is not emitted again', async (t) => {
  const store = await EmbeddedStore.open(tempFile(t))
  t.teardown(() => store.close())
  await store.createService({ name: 'web', namespace: 'default', ports: HTTP })
  const initial = buildSnapshot(await store.load()).snapshot
  const { log } = captureLog()
  const { seen, onSnapshot } = collect()
  const w = watch(t, { store, log, onSnapshot, initial, blockMs: 10_000 })
  t.equal(w.current(), initial)
  await waitFor('connected', () => w.status().connected)
  t.equal(seen.length, 0, 'same revision, same rejections: nothing to emit')
  await store.deleteService('default', 'web')
  await waitFor('delete applied', () => seen.length === 1)
  t.equal(seen[0]!.s.services.size, 0)
})

t.test('rejected records are logged with kind, id and reason, and emitted', async (t) => {
  const file = tempFile(t)
  const first = await EmbeddedStore.open(file)
  await first.createService({ name: 'web', namespace: 'default', ports: HTTP })
  await first.putRecord('node', { name: 'n1', tunnelAddress: '10.0.0.1', agentVersion: '1', startedAt: NOW })
  await first.close()
  const body = JSON.parse(fs.readFileSync(file, 'utf8'))
  body.records.node.n1.tunnelAddress = 'nowhere:0'
  fs.writeFileSync(file, JSON.stringify(body))

  const store = await EmbeddedStore.open(file)
  t.teardown(() => store.close())
  const { log, lines } = captureLog()
  const { seen, onSnapshot } = collect()
  watch(t, { store, log, onSnapshot, blockMs: 10_000 })
  await waitFor('snapshot', () => seen.length === 1)
  t.equal(seen[0]!.s.services.size, 1, 'the good record stands')
  t.equal(seen[0]!.s.nodes.size, 0)
  t.same(seen[0]!.rejected.map((r) => [r.kind, r.id]), [['node', 'n1']])
  const warn = lines.filter((l) => l.msg === 'registry record rejected')
  t.equal(warn.length, 1)
  t.match(warn[0], { level: 40, kind: 'node', id: 'n1', reason: /tunnelAddress/ })
})

t.test('a reader that fell behind the kept history resyncs in full', async (t) => {
  const real = await EmbeddedStore.open(tempFile(t))
  const store = new SwitchableStore(real)
  t.teardown(() => store.close())
  const { log, lines } = captureLog()
  const { seen, onSnapshot } = collect()
  // The feed is held from the start: the watcher loads in full, then waits at revision 0.
  store.hold()
  const w = watch(t, { store, log, onSnapshot, blockMs: 10_000 })
  await waitFor('first snapshot', () => seen.length === 1)
  t.equal(seen[0]!.s.revision, 0)

  const total = EMBEDDED_HISTORY + 10
  for (let i = 0; i < total; i++) {
    await real.putRecord('node', { name: `n${i}`, tunnelAddress: '10.0.0.1', agentVersion: '1', startedAt: NOW })
  }
  store.release()
  await waitFor('resync to the latest revision', () => w.status().revision === total)
  t.ok(lines.some((l) => l.msg === 'registry change feed asks for a full resync'), 'resync logged')
  const last = seen[seen.length - 1]!.s
  t.equal(last.revision, total)
  t.equal(last.nodes.size, total, 'every record present after the full load')
  t.equal(seen.length, 2, 'one snapshot for the whole catch-up')
})

t.test('outage: connected=false, one warning, then a full load on reconnect', async (t) => {
  const file = tempFile(t)
  const first = await EmbeddedStore.open(file)
  await first.createService({ name: 'web', namespace: 'default', ports: HTTP })
  const store = new SwitchableStore(first)
  const { log, lines } = captureLog()
  const { seen, onSnapshot } = collect()
  const w = watch(t, { store, log, onSnapshot, blockMs: 10_000 })
  await waitFor('first snapshot', () => seen.length === 1)
  const syncedAt = w.status().lastSyncAt

  await first.close()
  await waitFor('disconnected', () => !w.status().connected)
  // Several retries fail meanwhile (100, 200, 400 ms ... backoff); still one warning.
  await waitFor('the warning', () => lines.some((l) => l.level === 40))
  await new Promise((r) => setTimeout(r, 800))
  const warns = lines.filter((l) => l.msg.startsWith('registry unreachable'))
  t.equal(warns.length, 1, 'one warning per outage')
  t.match(warns[0], { level: 40, code: 'NM_REGISTRY_UNREACHABLE' })
  t.equal(w.current(), seen[0]!.s, 'keeps serving the last snapshot')
  t.equal(w.status().lastSyncAt, syncedAt, 'staleness grows during the outage')

  // The registry comes back (reopened from its file) with a change made while we were away.
  const second = await EmbeddedStore.open(file)
  t.teardown(() => second.close())
  await second.createService({ name: 'api', namespace: 'default', ports: HTTP })
  store.target = second
  await waitFor('reconnected', () => w.status().connected && w.status().revision === 2)
  t.same([...w.current()!.services.keys()].sort(), ['default/api', 'default/web'])
  t.ok(lines.some((l) => l.msg === 'registry reachable again; resynced in full'))
  t.ok(w.status().lastSyncAt! > syncedAt!)
})

t.test('close stops promptly and emits nothing after', async (t) => {
  const store = await EmbeddedStore.open(tempFile(t))
  t.teardown(() => store.close())
  const { log } = captureLog()
  const { seen, onSnapshot } = collect()
  const w = watchRegistry({ store, log, onSnapshot, blockMs: 60_000 })
  await waitFor('first snapshot', () => seen.length === 1)
  await new Promise((r) => setTimeout(r, 20))
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    w.close().then(() => 'closed'),
    new Promise((r) => { timer = setTimeout(() => r('still blocked'), 30_000) }),
  ])
  clearTimeout(timer)
  t.equal(closed, 'closed', 'close does not wait out the 60 s block')
  t.equal(w.status().connected, false)
  await store.createService({ name: 'web', namespace: 'default', ports: HTTP })
  await new Promise((r) => setTimeout(r, 100))
  t.equal(seen.length, 1, 'no snapshot after close')
})
