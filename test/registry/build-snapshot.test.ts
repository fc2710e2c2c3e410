import t from 'tap'
import { buildSnapshot, emptySnapshot } from '../../registry/build-snapshot'
import { DEFAULT_MESH_CONFIG, type RecordKind } from '../../registry/records'
import type { RegistryState } from '../../registry/store'

const NOW = '2025-01-02T03:04:05.000Z'
const svc = (name: string, vip: string): string =>
  JSON.stringify({ name, namespace: 'default', ports: [{ name: 'http', port: 80, protocol: 'http' }], vip, serviceAccount: name, createdAt: NOW })

function state(records: Partial<{ [K in RecordKind]: Array<[string, string]> }>, mesh?: string): RegistryState {
  const m = (k: RecordKind): Map<string, string> => new Map(records[k] ?? [])
  return {
    revision: 7, cursor: '7', mesh,
    records: { service: m('service'), endpoint: m('endpoint'), node: m('node'), policy: m('policy'), route: m('route'), defaults: m('defaults') },
  }
}

t.test('good records stand beside a bad one', async (t) => {
  const { snapshot, rejected } = buildSnapshot(state({
    service: [['default/web', svc('web', '127.77.0.1')], ['default/api', svc('api', 'not-an-ip')], ['default/db', svc('db', '127.77.0.3')]],
    node: [['n1', JSON.stringify({ name: 'n1', tunnelAddress: '10.0.0.1', agentVersion: '1', startedAt: NOW })], ['n2', '{broken']],
  }))
  t.equal(snapshot.revision, 7)
  t.equal(snapshot.cursor, '7')
  t.same([...snapshot.services.keys()].sort(), ['default/db', 'default/web'])
  t.equal(snapshot.services.get('default/web')!.vip, '127.77.0.1')
  t.same([...snapshot.nodes.keys()], ['n1'])
  t.same(rejected.map((r) => [r.kind, r.id]), [['node', 'n2'], ['service', 'default/api']])
  t.match(rejected[1]!.reason, /^vip: must be an IP address/)
  t.match(rejected[0]!.reason, /not valid JSON/)
  t.same(snapshot.rejected, rejected, 'the snapshot carries its rejections for /debug')
})

t.test('a record stored under another id is rejected', async (t) => {
  const { snapshot, rejected } = buildSnapshot(state({ service: [['default/other', svc('web', '127.77.0.1')]] }))
  t.equal(snapshot.services.size, 0)
  t.equal(rejected.length, 1)
  t.match(rejected[0]!.reason, /stored under id "default\/other" but the record's own id is "default\/web"/)
})

t.test('mesh config: defaults when absent, defaults plus a rejection when bad', async (t) => {
  t.same(buildSnapshot(state({})).snapshot.mesh, DEFAULT_MESH_CONFIG)
  const good = buildSnapshot(state({}, JSON.stringify({ vipCidr: '10.10.0.0/16', trustDomain: 'x.example', defaultDeny: true })))
  t.same(good.snapshot.mesh, { vipCidr: '10.10.0.0/16', trustDomain: 'x.example', defaultDeny: true })
  t.same(good.rejected, [])
  const bad = buildSnapshot(state({}, '{"vipCidr":"10.0.0.0/4"}'))
  t.same(bad.snapshot.mesh, DEFAULT_MESH_CONFIG)
  t.same(bad.rejected.map((r) => [r.kind, r.id]), [['mesh', 'mesh']])
})

t.test('emptySnapshot is a revision-0 snapshot with the default mesh', async (t) => {
  const e = emptySnapshot()
  t.equal(e.revision, 0)
  t.equal(e.services.size + e.endpoints.size + e.nodes.size + e.policies.size + e.routes.size + e.defaults.size, 0)
  t.same(e.mesh, DEFAULT_MESH_CONFIG)
})
