import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildSnapshot } from '../../registry/build-snapshot'
import { writeFileAtomic } from '../../registry/atomic-write'
import { loadSnapshot, saveSnapshot } from '../../registry/snapshot-file'
import type { Snapshot } from '../../registry/snapshot'

const NOW = '2025-01-02T03:04:05.000Z'

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-snapfile-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function sample(): Snapshot {
  const m = (entries: Array<[string, unknown]>): Map<string, string> => new Map(entries.map(([k, v]) => [k, JSON.stringify(v)]))
  return buildSnapshot({
    revision: 42, cursor: '1700000000000-3', mesh: JSON.stringify({ vipCidr: '10.20.0.0/16', trustDomain: 'corp.example', defaultDeny: true }),
    records: {
      service: m([['default/web', { name: 'web', namespace: 'default', ports: [{ name: 'http', port: 80, protocol: 'http' }], vip: '10.20.0.1', serviceAccount: 'web', createdAt: NOW }]]),
      endpoint: m([['ep-1', { id: 'ep-1', service: 'default/web', node: 'n1', address: '10.0.0.5', ports: { 80: 8080 }, weight: 3, labels: { v: '1' }, health: 'healthy', lease: 'n1', createdAt: NOW }]]),
      node: m([['n1', { name: 'n1', tunnelAddress: '10.0.0.5:15008', agentVersion: '0.1.0', startedAt: NOW }]]),
      policy: m([['p', { name: 'p', target: '*', action: 'DENY', from: { namespaces: ['evil'] }, to: {} }]]),
      route: m([['default/web', { service: 'default/web', rules: [{ matches: [], backends: [{ service: 'default/web', weight: 100 }] }] }]]),
      defaults: m([['default/web', { service: 'default/web', loadBalancing: 'round-robin' }]]),
    },
  }).snapshot
}

t.test('round trip keeps every record, revision, cursor and mesh', async (t) => {
  const file = path.join(tempDir(t), 'state', 'snapshot.json')
  const snap = sample()
  await saveSnapshot(file, snap)
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'file mode 0600')
  t.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700, 'created directory mode 0700')
  const loaded = await loadSnapshot(file)
  if (!loaded || 'error' in loaded) throw new Error(`load failed: ${JSON.stringify(loaded)}`)
  t.same(loaded.rejected, [])
  const s = loaded.snapshot
  t.equal(s.revision, 42)
  t.equal(s.cursor, '1700000000000-3')
  t.same(s.mesh, snap.mesh)
  for (const field of ['services', 'endpoints', 'nodes', 'policies', 'routes', 'defaults'] as const) {
    t.same([...s[field]], [...snap[field]], field)
  }
  t.same(fs.readdirSync(path.dirname(file)), ['snapshot.json'], 'no temp file left behind')
})

t.test('no file -> undefined', async (t) => {
  t.equal(await loadSnapshot(path.join(tempDir(t), 'missing.json')), undefined)
})

t.test('corrupted files give an error, never a throw', async (t) => {
  const dir = tempDir(t)
  const cases: Array<[string, RegExp]> = [
    ['{"format":"nodemesh-snap', /is not valid JSON/],
    ['[]', /has format undefined/],
    ['{"format":"something-else"}', /has format "something-else"/],
    ['{"format":"nodemesh-snapshot/1","revision":-1,"cursor":"1","records":{}}', /no valid revision/],
    ['{"format":"nodemesh-snapshot/1","revision":1,"cursor":"1","records":{"service":[1]}}', /bad "service" record group/],
  ]
  for (const [i, [text, re]] of cases.entries()) {
    const file = path.join(dir, `bad-${i}.json`)
    fs.writeFileSync(file, text)
    const r = await loadSnapshot(file)
    t.ok(r && 'error' in r, `case ${i} is an error`)
    if (r && 'error' in r) t.match(r.error, re)
  }
})

t.test('one damaged record is rejected alone', async (t) => {
  const file = path.join(tempDir(t), 'snapshot.json')
  await saveSnapshot(file, sample())
  const body = JSON.parse(fs.readFileSync(file, 'utf8'))
  body.records.endpoint['ep-1'].weight = -5
  fs.writeFileSync(file, JSON.stringify(body))
  const r = await loadSnapshot(file)
  if (!r || 'error' in r) throw new Error('expected a snapshot')
  t.equal(r.snapshot.endpoints.size, 0)
  t.equal(r.snapshot.services.size, 1, 'the rest stands')
  t.same(r.rejected.map((x) => [x.kind, x.id]), [['endpoint', 'ep-1']])
  t.match(r.rejected[0]!.reason, /^weight: must be 1\.\.1000, got -5/)
})

t.test('writeFileAtomic replaces the whole file', async (t) => {
  const file = path.join(tempDir(t), 'x.json')
  await writeFileAtomic(file, 'a'.repeat(10000))
  await writeFileAtomic(file, 'short')
  t.equal(fs.readFileSync(file, 'utf8'), 'short')
})
