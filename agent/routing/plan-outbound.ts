/**
 * How to reach a picked endpoint: straight to it when it is on this node (authorization is
 * still checked, by the caller), otherwise through the tunnel to its node's agent, expecting
 * the destination service's identity there. Pure.
 */
import type { CompiledEndpoint, CompiledPort, RoutingTable } from './routing-table'

export type OutboundPlan =
  | { readonly kind: 'direct'; readonly host: string; readonly port: number }
  | {
    readonly kind: 'tunnel'
    readonly destNode: string
    /** `host:port` of the destination agent's tunnel listener. */
    readonly destAddress: string
    readonly destIdentity: string
    /** `IP:PORT` of the workload, the CONNECT authority. */
    readonly target: string
  }
  | { readonly kind: 'fail'; readonly code: 'NM_NODE_UNKNOWN'; readonly reason: string }

export function planOutbound(table: RoutingTable, localNode: string, port: CompiledPort, endpoint: CompiledEndpoint): OutboundPlan {
  if (endpoint.node === localNode) return { kind: 'direct', host: endpoint.address, port: endpoint.port }
  const node = table.nodes.get(endpoint.node)
  if (!node) {
    return { kind: 'fail', code: 'NM_NODE_UNKNOWN', reason: `endpoint ${endpoint.id} is on node ${endpoint.node}, which has no agent in the registry` }
  }
  return { kind: 'tunnel', destNode: node.name, destAddress: node.tunnelAddress, destIdentity: port.identity, target: endpoint.target }
}
