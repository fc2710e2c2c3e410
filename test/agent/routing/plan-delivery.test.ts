import t from 'tap'
import { planDelivery, type DeliveryInput } from '../../../agent/routing/plan-delivery'
import { compileRoutingTable } from '../../../agent/routing/compile-routing-table'
import { DEFAULT_MESH_CONFIG, type AuthorizationPolicy, type Endpoint, type Service } from '../../../registry/records'
import type { Snapshot } from '../../../registry/snapshot'

const web: Service = { name: 'web', namespace: 'default', vip: '127.77.0.1', serviceAccount: 'web', createdAt: 'x', ports: [{ name: 'http', port: 80, protocol: 'http' }, { name: 'db', port: 5432, protocol: 'tcp' }] }
const ep = (id: string, node: string, address: string): Endpoint => ({ id, service: 'default/web', node, address, ports: { 80: 8080, 5432: 5432 }, weight: 1, labels: {}, health: 'healthy', createdAt: 'x' })

function table(policies: AuthorizationPolicy[], defaultDeny = false) {
  const snapshot: Snapshot = {
    revision: 1, cursor: '0-0', mesh: { ...DEFAULT_MESH_CONFIG, defaultDeny },
    services: new Map([['default/web', web]]),
    endpoints: new Map([['ep-l', ep('ep-l', 'n1', '10.0.0.1')], ['ep-r', ep('ep-r', 'n2', '10.0.0.2')]]),
    nodes: new Map([['n2', { name: 'n2', tunnelAddress: '192.0.2.2', agentVersion: 'x', startedAt: 'x' }]]),
    policies: new Map(policies.map((p) => [p.name, p])), routes: new Map(), defaults: new Map(), rejected: [],
  }
  return compileRoutingTable(snapshot, { dnsDomain: 'mesh', localNode: 'n1' }).table
}

const API = 'spiffe://nodemesh.local/ns/default/sa/api'
const NODE = 'spiffe://nodemesh.local/node/n1'
function input(tbl: ReturnType<typeof table>, endpointId: string, portNumber: number, extra: Partial<DeliveryInput> = {}): DeliveryInput {
  const port = tbl.byVipPort.get(`127.77.0.1:${portNumber}`)!
  return { table: tbl, localNode: 'n1', port, endpoint: port.endpoints.find((e) => e.id === endpointId)!, source: { identity: API, service: 'default/api' }, canTunnel: true, ...extra }
}

const allowApiGet: AuthorizationPolicy = { name: 'allow-api-get', target: 'default/web', action: 'ALLOW', from: { identities: [API] }, to: { methods: ['GET'] } }
const denyAdmin: AuthorizationPolicy = { name: 'deny-admin', target: 'default/web', action: 'DENY', from: {}, to: { paths: ['/admin/*'] } }

t.test('a remote endpoint goes through its node tunnel, keyed by source identity, not authorized here', async (t) => {
  const tbl = table([{ ...allowApiGet, from: { identities: ['spiffe://nodemesh.local/ns/x/sa/nobody'] } }])
  const d = planDelivery(input(tbl, 'ep-r', 80, { http: { method: 'DELETE', target: '/x' } }))
  t.same(d, {
    kind: 'tunnel', key: `${API}>10.0.0.2:8080`,
    route: { sourceIdentity: API, destNode: 'n2', destAddress: '192.0.2.2:15008', destIdentity: 'spiffe://nodemesh.local/ns/default/sa/web', target: '10.0.0.2:8080' },
  })
  t.match(planDelivery(input(tbl, 'ep-r', 80, { canTunnel: false })), { kind: 'refuse', status: 503, code: 'NM_NO_IDENTITY' })
})

t.test('same-node traffic skips the tunnel but not the check', async (t) => {
  const tbl = table([allowApiGet, denyAdmin])
  t.match(planDelivery(input(tbl, 'ep-l', 80, { http: { method: 'GET', target: '/ok?x=1' } })), { kind: 'direct', key: '10.0.0.1:8080', host: '10.0.0.1', port: 8080, decision: { allow: true, policy: 'allow-api-get' } })
  t.match(planDelivery(input(tbl, 'ep-l', 80, { http: { method: 'POST', target: '/ok' } })), { kind: 'refuse', status: 403, code: 'NM_AUTHZ_DENIED', decision: { allow: false } })
  const admin = planDelivery(input(tbl, 'ep-l', 80, { http: { method: 'GET', target: '/x/..//admin/%2e%2e/admin/keys' } }))
  t.match(admin, { kind: 'refuse', status: 403, code: 'NM_AUTHZ_DENIED', message: /deny-admin/ }, 'normalized before matching')
  t.match(planDelivery(input(tbl, 'ep-l', 80, { http: { method: 'GET', target: '/a%00b' } })), { kind: 'refuse', status: 400, code: 'NM_BAD_REQUEST' })
  t.match(planDelivery(input(tbl, 'ep-l', 80, { source: { identity: NODE }, http: { method: 'GET', target: '/ok' } })), { kind: 'refuse', status: 403 }, 'the node identity is not the allowed workload')
})

t.test('TCP: an ALLOW with HTTP-only fields cannot match; the decision is per connection', async (t) => {
  const tbl = table([allowApiGet])
  t.match(planDelivery(input(tbl, 'ep-l', 5432)), { kind: 'refuse', status: 403, code: 'NM_AUTHZ_DENIED' })
  const open = planDelivery(input(table([]), 'ep-l', 5432))
  t.match(open, { kind: 'direct', key: '10.0.0.1:5432' })
  t.equal((open as { decision?: unknown }).decision, undefined, 'no policy applies: nothing decided, nothing counted')
  t.match(planDelivery(input(table([], true), 'ep-l', 5432)), { kind: 'refuse', status: 403, message: /default deny/ })
})
