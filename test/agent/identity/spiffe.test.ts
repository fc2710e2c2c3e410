import t from 'tap'
import { nodeId, parseSpiffeId, workloadId } from '../../../agent/identity/spiffe'

t.test('workload and node IDs round-trip', async (t) => {
  const w = workloadId('nodemesh.local', 'prod', 'web')
  t.equal(w, 'spiffe://nodemesh.local/ns/prod/sa/web')
  t.same(parseSpiffeId(w), { kind: 'workload', trustDomain: 'nodemesh.local', namespace: 'prod', serviceAccount: 'web', uri: w })
  const n = nodeId('nodemesh.local', 'vm-3.example')
  t.same(parseSpiffeId(n), { kind: 'node', trustDomain: 'nodemesh.local', node: 'vm-3.example', uri: n })
})

t.test('anything but the two shapes is not an identity', async (t) => {
  for (const bad of [
    '', 'http://nodemesh.local/ns/a/sa/b', 'spiffe://', 'spiffe://nodemesh.local', 'spiffe://nodemesh.local/',
    'spiffe://nodemesh.local/ns/a/sa', 'spiffe://nodemesh.local/ns/a/sa/b/c', 'spiffe://nodemesh.local/ns//sa/b',
    'spiffe://Nodemesh.local/ns/a/sa/b', 'spiffe://nodemesh..local/ns/a/sa/b', 'spiffe://nodemesh.local/ns/a/sa/../x',
    'spiffe://nodemesh.local/ns/a/sa/b?x', 'spiffe://nodemesh.local/ns/a/sa/b#f', 'spiffe://user@nodemesh.local/ns/a/sa/b',
    'spiffe://nodemesh.local:8443/ns/a/sa/b', 'spiffe://nodemesh.local/node/', 'spiffe://nodemesh.local/node/a/b',
    'spiffe://nodemesh.local/ns/a%2Fb/sa/c',
  ]) t.equal(parseSpiffeId(bad), undefined, JSON.stringify(bad))
})
