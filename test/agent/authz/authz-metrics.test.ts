import { Registry } from 'prom-client'
import t from 'tap'
import { createAuthzMetrics } from '../../../agent/authz/authz-metrics'

t.test('decisions are counted by decision and policy on the given registry', async (t) => {
  const registry = new Registry()
  const m = createAuthzMetrics(registry)
  m.recordDecision({ allow: false, policy: 'no-admin', reason: 'DENY policy no-admin matched' })
  m.recordDecision({ allow: false, policy: 'no-admin', reason: 'DENY policy no-admin matched' })
  m.recordDecision({ allow: true, policy: 'allow-web', reason: 'ALLOW policy allow-web matched' })
  m.recordDecision({ allow: true, policy: '', reason: 'no policy applies' })
  m.recordDecision({ allow: false, policy: '', reason: 'mesh default deny' })
  const text = await registry.metrics()
  t.match(text, /^nodemesh_authz_decisions_total\{decision="deny",policy="no-admin"\} 2$/m)
  t.match(text, /^nodemesh_authz_decisions_total\{decision="allow",policy="allow-web"\} 1$/m)
  t.match(text, /^nodemesh_authz_decisions_total\{decision="allow",policy=""\} 1$/m)
  t.match(text, /^nodemesh_authz_decisions_total\{decision="deny",policy=""\} 1$/m)
  const values = (await m.decisions.get()).values
  t.equal(values.length, 4, 'one series per (decision, policy)')
  t.throws(() => createAuthzMetrics(registry), 'a registry holds the counter once')
})
