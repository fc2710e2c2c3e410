/**
 * How one connection or request reaches the endpoint the picker chose, as a plain value:
 * straight to a workload on this node, after authorizing it here (same-node traffic skips the
 * tunnel but not the check); through the tunnel to the endpoint's node, whose agent
 * authorizes it; or refused, with the status and code to answer. Pure.
 */
import { authorizeHttpRequest, denialMessage } from '../authz/authorize-http-request'
import { decisionWithoutPolicies, evaluateAuthorization, type AuthzDecision } from '../authz/evaluate-authorization'
import { parseSpiffeId } from '../identity/spiffe'
import { planOutbound } from './plan-outbound'
import type { CompiledEndpoint, CompiledPort, RoutingTable } from './routing-table'

export interface DeliverySource {
  /** SPIFFE ID: attributed from the source address, or the verified tunnel peer. */
  readonly identity: string
  /** `NAMESPACE/NAME` when the source is one service's workload. */
  readonly service?: string
}

export interface DeliveryInput {
  readonly table: RoutingTable
  readonly localNode: string
  readonly port: CompiledPort
  readonly endpoint: CompiledEndpoint
  readonly source: DeliverySource
  /** For an HTTP request: its method and request-target (path checked after normalization). */
  readonly http?: { readonly method: string; readonly target: string }
  /** False when this agent holds no mesh identity, so it cannot open tunnels. */
  readonly canTunnel: boolean
}

export interface TunnelRoute {
  readonly sourceIdentity: string
  readonly destNode: string
  readonly destAddress: string
  readonly destIdentity: string
  readonly target: string
}

export type Delivery =
  /** `decision` is absent when no policy applies to the destination (nothing was decided). */
  | { readonly kind: 'direct'; readonly key: string; readonly host: string; readonly port: number; readonly decision?: AuthzDecision }
  | { readonly kind: 'tunnel'; readonly key: string; readonly route: TunnelRoute }
  | {
    readonly kind: 'refuse'
    readonly status: 400 | 403 | 503
    readonly code: 'NM_AUTHZ_DENIED' | 'NM_BAD_REQUEST' | 'NM_NODE_UNKNOWN' | 'NM_NO_IDENTITY'
    readonly message: string
    readonly decision?: AuthzDecision
  }

export function planDelivery(input: DeliveryInput): Delivery {
  const { table, port, endpoint, source } = input
  const out = planOutbound(table, input.localNode, port, endpoint)
  if (out.kind === 'fail') return { kind: 'refuse', status: 503, code: out.code, message: out.reason }
  if (out.kind === 'tunnel') {
    if (!input.canTunnel) {
      return {
        kind: 'refuse', status: 503, code: 'NM_NO_IDENTITY',
        message: `${endpoint.target} is on node ${endpoint.node}; reaching other nodes needs a mesh identity: start the agent with --ca-dir, --join-token or --node-credential`,
      }
    }
    // One pooled tunnel per source identity: a connection never carries another's identity.
    const route = { sourceIdentity: source.identity, destNode: out.destNode, destAddress: out.destAddress, destIdentity: out.destIdentity, target: out.target }
    return { kind: 'tunnel', key: `${source.identity}>${endpoint.target}`, route }
  }
  const mesh = { defaultDeny: table.defaultDeny }
  if (decisionWithoutPolicies(table.authz, mesh, port.service) !== undefined) return { kind: 'direct', key: endpoint.target, host: out.host, port: out.port }
  const conn = {
    source: parseSpiffeId(source.identity),
    ...(source.service ? { sourceService: source.service } : {}),
    destination: port.service,
    port: port.port,
  }
  if (input.http) {
    const plan = authorizeHttpRequest(table.authz, mesh, conn, input.http)
    if (plan.kind === 'bad-path') return { kind: 'refuse', status: 400, code: 'NM_BAD_REQUEST', message: plan.message }
    if (plan.kind === 'deny') return { kind: 'refuse', status: 403, code: 'NM_AUTHZ_DENIED', message: plan.message, decision: plan.decision }
    return { kind: 'direct', key: endpoint.target, host: out.host, port: out.port, decision: plan.decision }
  }
  const decision = evaluateAuthorization(table.authz, mesh, conn)
  if (!decision.allow) return { kind: 'refuse', status: 403, code: 'NM_AUTHZ_DENIED', message: denialMessage(decision), decision }
  return { kind: 'direct', key: endpoint.target, host: out.host, port: out.port, decision }
}
