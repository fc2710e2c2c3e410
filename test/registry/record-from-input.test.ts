import t from 'tap'
import { endpointFromInput, newEndpointId, serviceFromInput } from '../../registry/record-from-input'
import { isValidEndpointId } from '../../registry/names'

const NOW = '2025-01-02T03:04:05.000Z'

t.test('new endpoint ids are ep- and 10 base32 characters, and valid ids', async (t) => {
  const ids = new Set<string>()
  for (let i = 0; i < 50; i++) {
    const id = newEndpointId()
    t.match(id, /^ep-[a-z2-7]{10}$/)
    t.ok(isValidEndpointId(id))
    ids.add(id)
  }
  t.equal(ids.size, 50)
})

t.test('service from input: port names and service account defaulted, extra fields dropped', async (t) => {
  const ports = [{ port: 80, protocol: 'http', extra: 1 }, { name: 'rpc', port: 9090, protocol: 'grpc' }]
  t.same(serviceFromInput({ name: 'web', namespace: 'shop', ports } as never, NOW), {
    name: 'web', namespace: 'shop', serviceAccount: 'web', createdAt: NOW,
    ports: [{ name: 'http-80', port: 80, protocol: 'http' }, { name: 'rpc', port: 9090, protocol: 'grpc' }],
  })
})

t.test('endpoint from input: defaults filled, no lease field when static', async (t) => {
  const input = { service: 'shop/web', node: 'n1', address: '10.0.0.1', ports: { '80': 8080 } }
  const ep = endpointFromInput(input, 'ep-a', NOW)
  t.same(ep, { id: 'ep-a', service: 'shop/web', node: 'n1', address: '10.0.0.1', ports: { '80': 8080 }, weight: 1, labels: {}, health: 'healthy', createdAt: NOW })
  t.notOk('lease' in ep)
  t.equal(endpointFromInput({ ...input, lease: 'n1' }, 'ep-a', NOW).lease, 'n1')
  t.not(ep.ports, input.ports, 'ports copied, not shared with the input')
})
