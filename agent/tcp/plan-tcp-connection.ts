/**
 * The decision for one L4 connection accepted on a VIP:port: which endpoint to connect to, or
 * why the client is reset. Pure, like the HTTP planner.
 */
import { pickEndpoint } from '../routing/pick-endpoint'
import type { CompiledEndpoint, CompiledPort, RoutingTable } from '../routing/routing-table'

export type TcpPlan =
  | { readonly kind: 'connect'; readonly port: CompiledPort; readonly endpoint: CompiledEndpoint }
  | { readonly kind: 'reset'; readonly port: CompiledPort | undefined; readonly code: 'NM_UNKNOWN_SERVICE' | 'NM_NO_HEALTHY_ENDPOINT'; readonly message: string }

export function planTcpConnection(
  table: RoutingTable,
  vipPort: string,
  outstanding: (target: string) => number,
  random: () => number,
  exclude?: ReadonlySet<string>,
): TcpPlan {
  const port = table.byVipPort.get(vipPort)
  if (port === undefined) {
    return { kind: 'reset', port, code: 'NM_UNKNOWN_SERVICE', message: `no mesh service listens on ${vipPort} any more` }
  }
  const endpoint = pickEndpoint(port.endpoints, outstanding, random, exclude)
  if (endpoint === undefined) {
    return { kind: 'reset', port, code: 'NM_NO_HEALTHY_ENDPOINT', message: `${port.service} port ${port.port} has no healthy endpoint${exclude?.size ? ' left to try' : ''}` }
  }
  return { kind: 'connect', port, endpoint }
}
