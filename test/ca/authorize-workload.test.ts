import t from 'tap'
import { decideWorkloadCert } from '../../ca/authorize-workload'
import { emptySnapshot } from '../../registry/build-snapshot'
import type { Endpoint, Service } from '../../registry/records'
import type { Snapshot } from '../../registry/snapshot'

const svc = (name: string, namespace: string, serviceAccount: string): Service =>
  ({ name, namespace, serviceAccount, ports: [], vip: '127.77.0.1', createdAt: '' })
const ep = (id: string, service: string, node: string): Endpoint =>
  ({ id, service, node, address: '10.0.0.1', ports: {}, weight: 1, labels: {}, health: 'healthy', createdAt: '' })

const snap: Snapshot = {
  ...emptySnapshot(),
  services: new Map([['prod/web', svc('web', 'prod', 'web-sa')], ['dev/web', svc('web', 'dev', 'web')]]),
  endpoints: new Map([['e1', ep('e1', 'prod/web', 'node-a')], ['e2', ep('e2', 'dev/web', 'node-b')], ['e3', ep('e3', 'gone/x', 'node-a')]]),
}

t.test('decisions', async (t) => {
  const cases: Array<[string, string, string, boolean, RegExp?]> = [
    ['endpoint on the node', 'node-a', 'spiffe://td/ns/prod/sa/web-sa', true],
    ['service account must match, not the service name', 'node-a', 'spiffe://td/ns/prod/sa/web', false, /service account web\b/],
    ['namespace must match', 'node-a', 'spiffe://td/ns/dev/sa/web', false, /namespace dev/],
    ['the endpoint is on another node', 'node-b', 'spiffe://td/ns/prod/sa/web-sa', false, /node node-b has no endpoint/],
    ['dev/web on node-b', 'node-b', 'spiffe://td/ns/dev/sa/web', true],
    ['other trust domain', 'node-a', 'spiffe://other/ns/prod/sa/web-sa', false, /trust domain other/],
    ['a node id', 'node-a', 'spiffe://td/node/node-a', false, /not a workload identity/],
    ['garbage', 'node-a', 'web', false, /not a workload identity/],
    ['endpoint of a missing service', 'node-a', 'spiffe://td/ns/gone/sa/x', false],
  ]
  for (const [name, node, id, ok, reason] of cases) {
    const d = decideWorkloadCert(snap, node, id, 'td')
    t.equal(d.ok, ok, name)
    if (!d.ok && reason) t.match(d.reason, reason, `${name}: reason`)
  }
})
