/**
 * `nodemesh_authz_decisions_total{decision,policy}`: every authorization decision, counted by
 * outcome and by the policy that made it (`''` when none did: no policy, or default deny).
 * Labelled children are cached because the decision path runs per connection and per request.
 */
import { Counter, type Registry } from 'prom-client'
import type { AuthzDecision } from './evaluate-authorization'

export interface AuthzMetrics {
  readonly decisions: Counter<'decision' | 'policy'>
  /** Counts one decision. */
  recordDecision(decision: AuthzDecision): void
}

export const AUTHZ_DECISIONS_METRIC = 'nodemesh_authz_decisions_total'

/**
 * Policy names come from the registry, so the number of children is bounded by the number of
 * policies; children of deleted policies stay until the agent restarts, as counters should.
 */
export function createAuthzMetrics(registry: Registry): AuthzMetrics {
  const decisions = new Counter({
    name: AUTHZ_DECISIONS_METRIC,
    help: 'Authorization decisions at the destination, by decision (allow or deny) and deciding policy',
    labelNames: ['decision', 'policy'] as const,
    registers: [registry],
  })
  const children = new Map<string, { inc(): void }>()
  return {
    decisions,
    recordDecision: (d) => {
      const decision = d.allow ? 'allow' : 'deny'
      const key = `${decision}\n${d.policy}`
      let child = children.get(key)
      if (!child) {
        child = decisions.labels({ decision, policy: d.policy })
        children.set(key, child)
      }
      child.inc()
    },
  }
}
