import t from 'tap'
import YAML from 'yaml'
import type { Endpoint, Service } from '../../registry/records'
import { formatTable, renderEndpoints, renderMesh, renderServices, renderStatus } from '../../cli/format-output'

const web: Service = {
  name: 'web', namespace: 'default', vip: '127.77.0.1', serviceAccount: 'web', createdAt: '2026-01-01T00:00:00.000Z',
  ports: [{ name: 'http-80', port: 80, protocol: 'http' }, { name: 'grpc', port: 9090, protocol: 'grpc' }],
}
const api: Service = { ...web, name: 'api-gateway', namespace: 'shop', vip: '127.77.0.12', serviceAccount: 'gw', ports: [web.ports[0]!] }
const ep: Endpoint = {
  id: 'ep-1', service: 'default/web', node: 'n1', address: '10.0.0.5', ports: { 80: 8080, 9090: 9091 }, weight: 1,
  labels: { v: '2' }, health: 'healthy', lease: 'n1', createdAt: '2026-01-01T00:00:00.000Z',
}
const staticEp: Endpoint = { ...ep, id: 'ep-2', address: '10.0.0.6', lease: undefined }
delete (staticEp as { lease?: string }).lease

t.test('tables align columns under a header', async (t) => {
  const text = formatTable(['A', 'LONG HEADER'], [['xxxxx', 'y'], ['z', '']])
  t.equal(text, 'A      LONG HEADER\nxxxxx  y\nz\n')
  const lines = renderServices([web, api], 'table').trimEnd().split('\n')
  t.equal(lines.length, 3)
  t.match(lines[0]!, /^NAME\s+NAMESPACE\s+VIP\s+PORTS\s+SERVICE ACCOUNT$/)
  const col = lines[0]!.indexOf('VIP')
  t.equal(lines[1]!.slice(col, col + 10), '127.77.0.1', 'VIP column aligned')
  t.equal(lines[2]!.slice(col, col + 11), '127.77.0.12')
  t.match(lines[1]!, /80\/http,grpc=9090\/grpc/)
})

t.test('json and yaml keep stable field names', async (t) => {
  const json = JSON.parse(renderServices([web], 'json')) as Array<Record<string, unknown>>
  t.same(Object.keys(json[0]!), ['name', 'namespace', 'vip', 'ports', 'serviceAccount', 'createdAt'])
  t.same(YAML.parse(renderServices([web], 'yaml')), json)
  const eps = JSON.parse(renderEndpoints([ep, staticEp], 'json')) as Array<Record<string, unknown>>
  t.equal(eps[0]!.lease, 'n1')
  t.equal(eps[1]!.lease, null, 'a static endpoint says lease: null')
  t.same(eps[0]!.ports, { 80: 8080, 9090: 9091 })
  t.same(JSON.parse(renderServices([], 'json')), [], 'an empty list is []')
})

t.test('endpoint, mesh and status tables', async (t) => {
  const table = renderEndpoints([ep, staticEp], 'table')
  t.match(table, /ep-1\s+n1\s+10\.0\.0\.5\s+80->8080,9090->9091\s+1\s+healthy\s+n1\s+v=2/)
  t.match(table, /ep-2 .*\(static\)/)
  t.match(renderMesh({ vipCidr: '10.0.0.0/16', trustDomain: 'td', defaultDeny: false }, 'table'), /vip-cidr\s+10\.0\.0\.0\/16/)
  const status = { node: 'n1', registry: 'redis://r:6379', revision: 7, connected: true, stalenessSeconds: 0, listeners: 3, version: '0.1.0' }
  t.same(JSON.parse(renderStatus(status, 'json')), status)
  t.match(renderStatus(status, 'table'), /revision\s+7/)
})
