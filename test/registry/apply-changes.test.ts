import t from 'tap'
import { applyChanges } from '../../registry/apply-changes'
import { buildSnapshot } from '../../registry/build-snapshot'
import { DEFAULT_MESH_CONFIG } from '../../registry/records'
import type { Snapshot } from '../../registry/snapshot'
import type { ChangeEvent, RegistryState } from '../../registry/store'

const NOW = '2025-01-02T03:04:05.000Z'
const svc = (name: string, vip: string, port = 80): string =>
  JSON.stringify({ name, namespace: 'default', ports: [{ name: 'http', port, protocol: 'http' }], vip, serviceAccount: name, createdAt: NOW })
const node = (name: string): string => JSON.stringify({ name, tunnelAddress: '10.0.0.1:15008', agentVersion: '1', startedAt: NOW })

function base(): Snapshot {
  const empty = new Map<string, string>()
  const state: RegistryState = {
    revision: 10, cursor: '10', mesh: undefined,
    records: {
      service: new Map([['default/web', svc('web', '127.77.0.1')], ['default/api', svc('api', '127.77.0.2')]]),
      node: new Map([['n1', node('n1')]]),
      endpoint: empty, policy: empty, route: empty, defaults: empty,
    },
  }
  return buildSnapshot(state).snapshot
}

t.test('copy-on-write: prev untouched, only changed kinds copied', async (t) => {
  const prev = base()
  const prevServices = [...prev.services.entries()]
  const events: ChangeEvent[] = [
    { revision: 11, changes: [{ op: 'put', kind: 'service', id: 'default/db', value: svc('db', '127.77.0.3') }] },
    { revision: 12, changes: [{ op: 'delete', kind: 'service', id: 'default/api' }] },
  ]
  const { snapshot, rejected } = applyChanges(prev, events, '12')
  t.same(rejected, [])
  t.equal(snapshot.revision, 12, 'revision of the last event')
  t.equal(snapshot.cursor, '12')
  t.same([...snapshot.services.keys()].sort(), ['default/db', 'default/web'])
  t.same([...prev.services.entries()], prevServices, 'the previous snapshot still has its services')
  t.equal(prev.revision, 10)
  t.not(snapshot.services, prev.services, 'the changed map is a new map')
  t.equal(snapshot.nodes, prev.nodes, 'an unchanged kind is shared by reference')
  t.equal(snapshot.endpoints, prev.endpoints)
  t.equal(snapshot.services.get('default/web'), prev.services.get('default/web'), 'unchanged records are shared')
})

t.test('an invalid put keeps the last good version and is reported', async (t) => {
  const prev = base()
  const events: ChangeEvent[] = [
    { revision: 11, changes: [{ op: 'put', kind: 'service', id: 'default/web', value: svc('web', '127.77.0.1', 99999) }] },
    { revision: 12, changes: [{ op: 'put', kind: 'node', id: 'n2', value: '{"name":"n2"}' }] },
  ]
  const { snapshot, rejected } = applyChanges(prev, events, '12')
  t.equal(snapshot.revision, 12)
  t.same(snapshot.services.get('default/web'), prev.services.get('default/web'), 'last good version kept')
  t.notOk(snapshot.nodes.has('n2'), 'a new invalid record is left out')
  t.same(rejected.map((r) => [r.kind, r.id]), [['service', 'default/web'], ['node', 'n2']])
  t.match(rejected[0]!.reason, /ports\[0\]\.port: must be 1\.\.65535, got 99999 \(keeping the last good version\)/)
  t.same(snapshot.rejected.map((r) => r.id), ['n2', 'default/web'], 'the snapshot lists standing rejections, sorted')

  // A later valid put clears the rejection; a delete clears it too.
  const fixed = applyChanges(snapshot, [
    { revision: 13, changes: [{ op: 'put', kind: 'service', id: 'default/web', value: svc('web', '127.77.0.1', 8080) }] },
    { revision: 14, changes: [{ op: 'delete', kind: 'node', id: 'n2' }] },
  ], '14')
  t.equal(fixed.snapshot.services.get('default/web')!.ports[0]!.port, 8080)
  t.same(fixed.snapshot.rejected, [])
  t.same(fixed.rejected, [])
})

t.test('mesh changes: valid applies, invalid keeps the previous one', async (t) => {
  const prev = base()
  const good = applyChanges(prev, [{ revision: 11, changes: [{ op: 'mesh', value: '{"vipCidr":"10.1.0.0/16","trustDomain":"a.b","defaultDeny":true}' }] }], '11')
  t.same(good.snapshot.mesh, { vipCidr: '10.1.0.0/16', trustDomain: 'a.b', defaultDeny: true })
  const bad = applyChanges(good.snapshot, [{ revision: 12, changes: [{ op: 'mesh', value: '{"defaultDeny":1}' }] }], '12')
  t.same(bad.snapshot.mesh, good.snapshot.mesh)
  t.same(bad.rejected.map((r) => r.kind), ['mesh'])
  t.same(prev.mesh, DEFAULT_MESH_CONFIG)
})

t.test('events at or below the revision are skipped; no events keeps maps', async (t) => {
  const prev = base()
  const { snapshot } = applyChanges(prev, [
    { revision: 9, changes: [{ op: 'delete', kind: 'service', id: 'default/web' }] },
    { revision: 10, changes: [{ op: 'delete', kind: 'service', id: 'default/api' }] },
  ], '10')
  t.equal(snapshot.services, prev.services)
  t.equal(snapshot.revision, 10)
  const none = applyChanges(prev, [], '10-1')
  t.equal(none.snapshot.revision, 10)
  t.equal(none.snapshot.cursor, '10-1')
  t.equal(none.snapshot.rejected, prev.rejected)
})

t.test('a record put under the wrong id is rejected', async (t) => {
  const prev = base()
  const { snapshot, rejected } = applyChanges(prev, [{ revision: 11, changes: [{ op: 'put', kind: 'node', id: 'n1', value: node('n9') }] }], '11')
  t.same(snapshot.nodes.get('n1'), prev.nodes.get('n1'))
  t.notOk(snapshot.nodes.has('n9'))
  t.match(rejected[0]!.reason, /own id is "n9"/)
})
