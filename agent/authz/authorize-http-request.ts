/**
 * The whole authorization plan for one HTTP request at the destination: normalize the path,
 * evaluate, and say what to answer. Pure; the proxy or tunnel writes the response, counts the
 * decision (authz-metrics.ts) and logs `authzLogFields`.
 */
import type { CompiledPolicies } from './compile-policies'
import { evaluateAuthorization, type AuthzDecision, type AuthzRequest } from './evaluate-authorization'
import { normalizeRequestPath } from './normalize-path'

export type HttpAuthzPlan =
  | { readonly kind: 'allow'; readonly decision: AuthzDecision; readonly path: string }
  /** 403 with `message` as the body: it names the deciding policy, or why none allowed it. */
  | { readonly kind: 'deny'; readonly status: 403; readonly decision: AuthzDecision; readonly message: string }
  /** 400: a path that cannot be normalized is never matched against rules, nor forwarded. */
  | { readonly kind: 'bad-path'; readonly status: 400; readonly message: string }

export function authorizeHttpRequest(
  compiled: CompiledPolicies,
  mesh: { readonly defaultDeny: boolean },
  conn: Omit<AuthzRequest, 'http'>,
  request: { readonly method: string; readonly target: string },
): HttpAuthzPlan {
  const normalized = normalizeRequestPath(request.target)
  if (!normalized.ok) return { kind: 'bad-path', status: 400, message: `${normalized.reason}; fix the request path` }
  const decision = evaluateAuthorization(compiled, mesh, { ...conn, http: { method: request.method, path: normalized.path } })
  if (decision.allow) return { kind: 'allow', decision, path: normalized.path }
  return { kind: 'deny', status: 403, decision, message: denialMessage(decision) }
}

/** The text a denied caller sees (HTTP body); also fine for a log line. */
export function denialMessage(d: AuthzDecision): string {
  return d.policy ? `access denied by policy ${d.policy}` : `access denied: ${d.reason}`
}

/** Fields for the access-log record of a connection or request. */
export function authzLogFields(d: AuthzDecision): { authz: 'allow' | 'deny'; authz_policy: string; authz_reason: string } {
  return { authz: d.allow ? 'allow' : 'deny', authz_policy: d.policy, authz_reason: d.reason }
}
