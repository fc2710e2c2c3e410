import t from 'tap'
import { planOutbound } from '../../../agent/routing/plan-outbound'
import type { CompiledEndpoint, CompiledPort, RoutingTable } from '../../../agent/routing/routing-table'

const port: CompiledPort = {
  service: 'default/web', serviceName: 'web', namespace: 'default', vip: '127.77.0.1', name: 'http', port: 80,
  protocol: 'http', identity: 'spiffe://td/ns/default/sa/web', endpoints: [],
}
const ep = (node: string): CompiledEndpoint => ({ id: `ep-${node}`, node, address: '10.0.0.9', port: 8080, weight: 1, target: '10.0.0.9:8080' })
const table = {
  nodes: new Map([['n2', { name: 'n2', tunnelAddress: '192.0.2.2:15008' }]]),
} as unknown as RoutingTable

t.test('local endpoints direct, remote ones through their node agent, unknown nodes fail', async (t) => {
  t.same(planOutbound(table, 'n1', port, ep('n1')), { kind: 'direct', host: '10.0.0.9', port: 8080 })
  t.same(planOutbound(table, 'n1', port, ep('n2')), {
    kind: 'tunnel', destNode: 'n2', destAddress: '192.0.2.2:15008', destIdentity: 'spiffe://td/ns/default/sa/web', target: '10.0.0.9:8080',
  })
  t.match(planOutbound(table, 'n1', port, ep('n9')), { kind: 'fail', code: 'NM_NODE_UNKNOWN', reason: /n9/ })
})
