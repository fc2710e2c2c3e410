import t from 'tap'
import type { Endpoint } from '../../../registry/records'
import { checkAgentDeregistration, planAgentRegistration, type RegistrationRequest } from '../../../agent/api/plan-registration'

const base: RegistrationRequest = { service: 'web', node: '', address: '10.0.0.5', ports: { 80: 8080 }, weight: 0, labels: {}, health: '' }

t.test('registration through the agent carries its node and lease', async (t) => {
  t.same(planAgentRegistration(base, 'n1'), { service: 'default/web', node: 'n1', address: '10.0.0.5', ports: { 80: 8080 }, labels: {}, lease: 'n1' })
  t.same(planAgentRegistration({ ...base, node: 'n1', service: 'api.shop', weight: 7, labels: { v: '2' }, health: 'unhealthy' }, 'n1'), {
    service: 'shop/api', node: 'n1', address: '10.0.0.5', ports: { 80: 8080 }, weight: 7, labels: { v: '2' }, health: 'unhealthy', lease: 'n1',
  })
  t.equal(planAgentRegistration({ ...base, service: 'shop/api' }, 'n1').service, 'shop/api')
})

t.test('refused registrations', async (t) => {
  const cases: Array<[Partial<RegistrationRequest>, RegExp]> = [
    [{ node: 'n2' }, /^NM_BAD_ARGUMENT: this agent registers endpoints on node n1 only/],
    [{ service: 'Web' }, /service name "Web" must be a DNS label/],
    [{ address: 'web.local' }, /address "web\.local" is not an IP address/],
    [{ ports: {} }, /at least one port/],
    [{ ports: { 80: 0 } }, /target port 0 for service port 80 must be 1\.\.65535/],
    [{ weight: 1001 }, /weight 1001 must be 1\.\.1000/],
    [{ health: 'sick' }, /health "sick" must be healthy or unhealthy/],
  ]
  for (const [patch, message] of cases) t.throws(() => planAgentRegistration({ ...base, ...patch }, 'n1'), message, String(message))
})

t.test('deregistration only of this node\'s endpoints', async (t) => {
  const ep: Endpoint = {
    id: 'ep-1', service: 'default/web', node: 'n2', address: '10.0.0.5', ports: { 80: 8080 }, weight: 1, labels: {},
    health: 'healthy', createdAt: '2026-01-01T00:00:00Z',
  }
  t.throws(() => checkAgentDeregistration(ep, 'n1'), /endpoint ep-1 is on node n2, not this agent's node n1/)
  t.doesNotThrow(() => checkAgentDeregistration({ ...ep, node: 'n1' }, 'n1'))
})
