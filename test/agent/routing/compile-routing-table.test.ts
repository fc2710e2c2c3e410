import t from 'tap'
import { compileRoutingTable } from '../../../agent/routing/compile-routing-table'
import { DEFAULT_MESH_CONFIG, type Endpoint, type NodeRecord, type Service } from '../../../registry/records'
import type { Snapshot } from '../../../registry/snapshot'

function svc(name: string, namespace: string, vip: string, ports: Service['ports']): Service {
  return { name, namespace, vip, ports, serviceAccount: name, createdAt: '2026-01-01T00:00:00Z' }
}
function ep(id: string, service: string, address: string, ports: Record<string, number>, extra: Partial<Endpoint> = {}): Endpoint {
  return { id, service, node: 'n1', address, ports, weight: 1, labels: {}, health: 'healthy', createdAt: '2026-01-01T00:00:00Z', ...extra }
}
function snapshot(services: Service[], endpoints: Endpoint[], revision = 7, nodes: NodeRecord[] = []): Snapshot {
  return {
    revision, cursor: '0-0', mesh: DEFAULT_MESH_CONFIG,
    services: new Map(services.map((s) => [`${s.namespace}/${s.name}`, s])),
    endpoints: new Map(endpoints.map((e) => [e.id, e])),
    nodes: new Map(nodes.map((n) => [n.name, n])), policies: new Map(), routes: new Map(), defaults: new Map(), rejected: [],
  }
}

const web = svc('web', 'default', '127.77.0.1', [
  { name: 'http', port: 80, protocol: 'http' },
  { name: 'admin', port: 9000, protocol: 'tcp' },
])
const api = svc('api', 'prod', '127.77.0.2', [{ name: 'http', port: 8080, protocol: 'http' }])

t.test('services, ports and endpoints compile into lookups by VIP:port and DNS name', async (t) => {
  const { table, warnings } = compileRoutingTable(snapshot([web, api], [
    ep('ep-b', 'default/web', '10.0.0.2', { 80: 8081, 9000: 9001 }),
    ep('ep-a', 'default/web', '10.0.0.1', { 80: 8080, 9000: 9002 }, { weight: 5 }),
    ep('ep-c', 'prod/api', '10.0.0.3', { 8080: 3000 }),
  ]), { dnsDomain: 'Mesh.', localNode: 'n1' })
  t.same(warnings, [])
  t.equal(table.revision, 7)
  t.equal(table.dnsDomain, 'mesh')
  const http = table.byVipPort.get('127.77.0.1:80')
  t.equal(http?.protocol, 'http')
  t.same(http?.endpoints.map((e) => [e.id, e.target, e.weight]), [['ep-a', '10.0.0.1:8080', 5], ['ep-b', '10.0.0.2:8081', 1]], 'sorted by id, target port per service port')
  t.same(table.byVipPort.get('127.77.0.1:9000')?.endpoints.map((e) => e.target), ['10.0.0.1:9002', '10.0.0.2:9001'])
  t.equal(table.byDnsName.get('web.mesh')?.key, 'default/web', 'default namespace answers the short name')
  t.equal(table.byDnsName.get('web.default.mesh')?.key, 'default/web')
  t.equal(table.byDnsName.get('api.prod.mesh')?.key, 'prod/api')
  t.notOk(table.byDnsName.has('api.mesh'), 'the short name is for the default namespace only')
  t.same(table.listeners.map((l) => l.key), ['127.77.0.1:80', '127.77.0.1:9000', '127.77.0.2:8080'])
  t.same(table.byTarget.get('10.0.0.1:8080')?.map((b) => [b.port.service, b.port.port, b.endpoint.id]), [['default/web', 80, 'ep-a']])
  t.same(table.byTarget.get('10.0.0.3:3000')?.map((b) => [b.port.service, b.port.port]), [['prod/api', 8080]])
  t.notOk(table.byTarget.has('10.0.0.1:8081'), 'only registered targets')
})

t.test('one target serving several service ports is bound to each of them', async (t) => {
  const { table } = compileRoutingTable(snapshot([web], [ep('ep-1', 'default/web', '10.0.0.1', { 80: 7000, 9000: 7000 })]), { dnsDomain: 'mesh', localNode: 'n1' })
  t.same(table.byTarget.get('10.0.0.1:7000')?.map((b) => b.port.port), [80, 9000])
})

t.test('unhealthy endpoints and endpoints without a target for a port are left out of that port', async (t) => {
  const { table } = compileRoutingTable(snapshot([web], [
    ep('ep-1', 'default/web', '10.0.0.1', { 80: 8080, 9000: 9000 }, { health: 'unhealthy' }),
    ep('ep-2', 'default/web', '10.0.0.2', { 80: 8080 }),
  ]), { dnsDomain: 'mesh', localNode: 'n1' })
  t.same(table.byVipPort.get('127.77.0.1:80')?.endpoints.map((e) => e.id), ['ep-2'])
  t.same(table.byVipPort.get('127.77.0.1:9000')?.endpoints, [])
})

t.test('endpoints of services that do not exist are ignored', async (t) => {
  const { table } = compileRoutingTable(snapshot([web], [ep('ep-x', 'default/gone', '10.0.0.9', { 80: 80 })]), { dnsDomain: 'mesh', localNode: 'n1' })
  t.equal(table.services.size, 1)
  t.same(table.byVipPort.get('127.77.0.1:80')?.endpoints, [])
})

t.test('a VIP claimed twice keeps the first service by key and warns', async (t) => {
  const dup = svc('zzz', 'default', '127.77.0.1', [{ name: 'http', port: 80, protocol: 'http' }])
  const { table, warnings } = compileRoutingTable(snapshot([dup, web], []), { dnsDomain: 'mesh', localNode: 'n1' })
  t.equal(table.byVipPort.get('127.77.0.1:80')?.service, 'default/web')
  t.notOk(table.services.has('default/zzz'))
  t.match(warnings[0], /default\/zzz left out/)
})

t.test('IPv6 endpoint targets are bracketed', async (t) => {
  const { table } = compileRoutingTable(snapshot([api], [ep('ep-6', 'prod/api', 'fd00::1', { 8080: 3000 })]), { dnsDomain: 'mesh', localNode: 'n1' })
  t.equal(table.byVipPort.get('127.77.0.2:8080')?.endpoints[0]?.target, '[fd00::1]:3000')
})

const node = (name: string, tunnelAddress: string): NodeRecord => ({ name, tunnelAddress, agentVersion: '0.1.0', startedAt: '2026-01-01T00:00:00Z' })

t.test('identities, node tunnel addresses, and endpoints on nodes without an agent', async (t) => {
  const { table, warnings } = compileRoutingTable(snapshot([web, api], [
    ep('ep-l', 'default/web', '10.0.0.1', { 80: 8080, 9000: 9000 }),
    ep('ep-r', 'default/web', '10.0.1.1', { 80: 8080, 9000: 9000 }, { node: 'n2' }),
    ep('ep-x', 'default/web', '10.0.2.1', { 80: 8080, 9000: 9000 }, { node: 'ghost' }),
  ], 3, [node('n2', '192.0.2.2'), node('n3', '[fd00::3]:16008')]), { dnsDomain: 'mesh', localNode: 'n1' })
  t.equal(table.trustDomain, 'nodemesh.local')
  t.equal(table.services.get('prod/api')?.identity, 'spiffe://nodemesh.local/ns/prod/sa/api')
  t.equal(table.byVipPort.get('127.77.0.1:80')?.identity, 'spiffe://nodemesh.local/ns/default/sa/web')
  t.same(table.nodes.get('n2'), { name: 'n2', tunnelAddress: '192.0.2.2:15008' }, 'a bare IP gets the default tunnel port')
  t.equal(table.nodes.get('n3')?.tunnelAddress, '[fd00::3]:16008')
  t.same(table.byVipPort.get('127.77.0.1:80')?.endpoints.map((e) => e.id), ['ep-l', 'ep-r'], 'the endpoint on a node with no agent is left out')
  t.match(warnings.join('\n'), /ep-x .*ghost/)
})

t.test('local sources: one identity per address, ambiguous when shared by several', async (t) => {
  const shared = svc('shared', 'default', '127.77.0.3', [{ name: 'http', port: 80, protocol: 'http' }])
  const alias = { ...svc('alias', 'default', '127.77.0.4', [{ name: 'http', port: 80, protocol: 'http' }]), serviceAccount: 'web' }
  const { table } = compileRoutingTable(snapshot([web, api, shared, alias], [
    ep('ep-1', 'default/web', '10.0.0.1', { 80: 1, 9000: 2 }),
    ep('ep-2', 'prod/api', '10.0.0.2', { 8080: 1 }),
    ep('ep-3', 'default/shared', '10.0.0.2', { 80: 2 }),
    ep('ep-4', 'default/alias', '10.0.0.1', { 80: 3 }),
    ep('ep-5', 'prod/api', '10.0.0.5', { 8080: 1 }, { node: 'n2', health: 'unhealthy' }),
    ep('ep-6', 'prod/api', '10.0.0.6', { 8080: 1 }, { health: 'unhealthy' }),
  ], 3, [node('n2', '192.0.2.2')]), { dnsDomain: 'mesh', localNode: 'n1' })
  t.same(table.localSources.get('10.0.0.1'), { identity: 'spiffe://nodemesh.local/ns/default/sa/web' }, 'two services, one service account: identity stands, service does not')
  t.equal(table.localSources.get('10.0.0.2'), 'ambiguous')
  t.notOk(table.localSources.has('10.0.0.5'), 'remote endpoints attribute nothing here')
  t.equal(table.serviceByIdentity.get('spiffe://nodemesh.local/ns/prod/sa/api'), 'prod/api')
  t.notOk(table.serviceByIdentity.has('spiffe://nodemesh.local/ns/default/sa/web'), 'web and alias share a service account: no single source service')
  t.same(table.localSources.get('10.0.0.6'), { identity: 'spiffe://nodemesh.local/ns/prod/sa/api', service: 'prod/api' }, 'health does not change who a workload is')
})
