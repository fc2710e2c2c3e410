/** RoutingTable values with `byTarget` filled, built by hand for the tunnel's tests. */
import type { PortProtocol } from '../../../registry/records'
import type { CompiledEndpoint, CompiledPort, RoutingTable, TargetBinding } from '../../../agent/routing/routing-table'

export interface FixtureEndpoint { readonly node: string; readonly address: string; readonly port: number }
export interface FixtureServicePort {
  readonly service: string
  readonly port: number
  readonly protocol?: PortProtocol
  readonly endpoints: readonly FixtureEndpoint[]
}

export function tunnelTable(ports: readonly FixtureServicePort[]): RoutingTable {
  const byTarget = new Map<string, TargetBinding[]>()
  const byVipPort = new Map<string, CompiledPort>()
  ports.forEach((p, i) => {
    const vip = `127.77.1.${i + 1}`
    const endpoints: CompiledEndpoint[] = p.endpoints.map((e, j) => ({
      id: `${p.service}-${j}`, node: e.node, address: e.address, port: e.port, weight: 1,
      target: e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`,
    }))
    const port = {
      service: `default/${p.service}`, serviceName: p.service, namespace: 'default', vip, name: `p${p.port}`, port: p.port,
      protocol: p.protocol ?? 'tcp', identity: `spiffe://nodemesh.local/ns/default/sa/${p.service}`, endpoints,
    } as CompiledPort
    byVipPort.set(`${vip}:${p.port}`, port)
    for (const endpoint of endpoints) {
      const list = byTarget.get(endpoint.target) ?? []
      list.push({ port, endpoint })
      byTarget.set(endpoint.target, list)
    }
  })
  return {
    revision: 1, dnsDomain: 'mesh', trustDomain: 'nodemesh.local', nodes: new Map(), services: new Map(), byVipPort,
    byDnsName: new Map(), listeners: [], byTarget,
  } as unknown as RoutingTable
}
