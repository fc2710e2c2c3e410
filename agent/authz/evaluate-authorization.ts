/**
 * The authorization decision at the destination, with Istio's semantics: any matching DENY
 * policy denies; otherwise, when ALLOW policies apply to the destination, one must match;
 * otherwise the request is allowed unless the mesh is default-deny. Pure: the tunnel and the
 * L7 proxy call it with what they know and act on the answer.
 */
import type { SpiffeId } from '../identity/spiffe'
import { matches, policiesFor, type CompiledPolicies, type CompiledPolicy } from './compile-policies'

export interface AuthzRequest {
  /** The verified peer identity; undefined when there is none. */
  readonly source: SpiffeId | undefined
  /** Source service key `NS/NAME`, when the source workload can be attributed to one. */
  readonly sourceService?: string
  /** Destination service key `NS/NAME`. */
  readonly destination: string
  /** The service port the connection or request was addressed to. */
  readonly port: number
  /** For HTTP requests; `path` must come from normalizeRequestPath. Absent for TCP. */
  readonly http?: { readonly method: string; readonly path: string }
}

export interface AuthzDecision {
  readonly allow: boolean
  /** Name of the policy that decided, or '' when none did. */
  readonly policy: string
  readonly reason: string
}

export const REASON_NO_ALLOW_MATCHED = 'no ALLOW policy matched'
export const REASON_DEFAULT_DENY = 'mesh default deny'
export const REASON_NO_POLICY = 'no policy applies'

/**
 * Whether the `from` part matches. Identity rules match any verified peer, a node's own
 * identity included (traffic the source agent could not attribute to a workload carries it,
 * so operators must be able to name it). Only workload identities carry a namespace and a
 * service, so namespace and service rules never match a node. An unauthenticated peer matches
 * only a policy without `from` fields.
 */
function sourceMatches(p: CompiledPolicy, req: AuthzRequest): boolean {
  if (!p.identities && !p.namespaces && !p.services) return true
  const src = req.source
  if (!src) return false
  if (p.identities && !matches(p.identities, src.uri)) return false
  if (src.kind !== 'workload') return !p.namespaces && !p.services
  if (p.namespaces && !matches(p.namespaces, src.namespace)) return false
  if (p.services && (req.sourceService === undefined || !p.services.has(req.sourceService))) return false
  return true
}

/**
 * Whether the `to` part matches. Without HTTP, method and path fields cannot be checked: an
 * ALLOW policy that has them does not match (it cannot grant what it cannot see), and a DENY
 * policy that has them matches on its other fields (it must not be dodged by using TCP).
 */
function operationMatches(p: CompiledPolicy, req: AuthzRequest): boolean {
  if (p.ports && !p.ports.has(req.port)) return false
  if (!p.methods && !p.paths) return true
  const http = req.http
  if (!http) return p.action === 'DENY'
  if (p.methods && !p.methods.has(http.method)) return false
  if (p.paths && !matches(p.paths, http.path)) return false
  return true
}

function policyMatches(p: CompiledPolicy, req: AuthzRequest): boolean {
  return sourceMatches(p, req) && operationMatches(p, req)
}

const ALLOW_NO_POLICY: AuthzDecision = { allow: true, policy: '', reason: REASON_NO_POLICY }

/**
 * The decision when it does not depend on the request: no policy applies to the destination
 * and the mesh is not default-deny. Lets the request path skip identity parsing and path
 * normalization for services without policies (most of them).
 */
export function decisionWithoutPolicies(compiled: CompiledPolicies, mesh: { readonly defaultDeny: boolean }, destination: string): AuthzDecision | undefined {
  // Callers count only real decisions (nodemesh_authz_decisions_total), as Istio does.
  if (mesh.defaultDeny) return undefined
  const set = policiesFor(compiled, destination)
  return set.deny.length === 0 && set.allow.length === 0 ? ALLOW_NO_POLICY : undefined
}

export function evaluateAuthorization(compiled: CompiledPolicies, mesh: { readonly defaultDeny: boolean }, req: AuthzRequest): AuthzDecision {
  const set = policiesFor(compiled, req.destination)
  const denied = set.deny.find((p) => policyMatches(p, req))
  if (denied) return { allow: false, policy: denied.name, reason: `DENY policy ${denied.name} matched` }
  if (set.allow.length > 0) {
    const allowed = set.allow.find((p) => policyMatches(p, req))
    if (allowed) return { allow: true, policy: allowed.name, reason: `ALLOW policy ${allowed.name} matched` }
    return { allow: false, policy: '', reason: REASON_NO_ALLOW_MATCHED }
  }
  if (mesh.defaultDeny) return { allow: false, policy: '', reason: REASON_DEFAULT_DENY }
  return ALLOW_NO_POLICY
}
