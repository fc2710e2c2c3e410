import t from 'tap'
import { localIdentities } from '../../../agent/identity/local-identities'
import { DEFAULT_MESH_CONFIG, type Endpoint, type Service } from '../../../registry/records'
import type { Snapshot } from '../../../registry/snapshot'

const svc = (name: string, namespace: string, serviceAccount: string): Service => ({ name, namespace, serviceAccount, vip: '127.77.0.1', ports: [], createdAt: 'x' })
const ep = (id: string, service: string, node: string, health: Endpoint['health'] = 'healthy'): Endpoint =>
  ({ id, service, node, address: '10.0.0.1', ports: {}, weight: 1, labels: {}, health, createdAt: 'x' })

t.test('identities of services with an endpoint on this node, deduplicated and sorted', async (t) => {
  const snapshot = {
    mesh: { ...DEFAULT_MESH_CONFIG, trustDomain: 'corp.example' },
    services: new Map([['default/web', svc('web', 'default', 'web')], ['prod/api', svc('api', 'prod', 'api-sa')], ['default/alias', svc('alias', 'default', 'web')], ['default/far', svc('far', 'default', 'far')]]),
    endpoints: new Map([
      ['1', ep('1', 'default/web', 'n1')], ['2', ep('2', 'prod/api', 'n1', 'unhealthy')], ['3', ep('3', 'default/alias', 'n1')],
      ['4', ep('4', 'default/far', 'n2')], ['5', ep('5', 'default/gone', 'n1')],
    ]),
  } as unknown as Snapshot
  t.same(localIdentities(snapshot, 'n1'), ['spiffe://corp.example/ns/default/sa/web', 'spiffe://corp.example/ns/prod/sa/api-sa'])
  t.same(localIdentities(snapshot, 'n3'), [])
})
