/** Builds RoutingTable values by hand for data-plane tests (the compiler is tested on its own). */
import type { PortProtocol } from '../../../registry/records'
import type { CompiledEndpoint, CompiledPort, CompiledService, RoutingTable } from '../../../agent/routing/routing-table'

export interface FixturePort {
  readonly port: number
  readonly protocol?: PortProtocol
  readonly endpoints: readonly { address?: string; port: number; weight?: number }[]
}

export interface FixtureService {
  readonly name: string
  readonly namespace?: string
  readonly vip?: string
  readonly ports: readonly FixturePort[]
}

export function buildTable(services: readonly FixtureService[], dnsDomain = 'mesh'): RoutingTable {
  const byKey = new Map<string, CompiledService>()
  const byVipPort = new Map<string, CompiledPort>()
  const byDnsName = new Map<string, CompiledService>()
  let n = 0
  for (const s of services) {
    const namespace = s.namespace ?? 'default'
    const key = `${namespace}/${s.name}`
    const vip = s.vip ?? `127.77.0.${++n}`
    const ports: CompiledPort[] = s.ports.map((p) => {
      const protocol = p.protocol ?? 'http'
      const endpoints: CompiledEndpoint[] = p.endpoints.map((e, i) => {
        const address = e.address ?? '127.0.0.1'
        return { id: `${s.name}-${p.port}-${i}`, node: 'node-a', address, port: e.port, weight: e.weight ?? 1, target: `${address}:${e.port}` }
      })
      return { service: key, serviceName: s.name, namespace, vip, name: `${protocol}-${p.port}`, port: p.port, protocol, endpoints }
    })
    const svc: CompiledService = { key, name: s.name, namespace, vip, serviceAccount: s.name, ports }
    byKey.set(key, svc)
    for (const p of ports) byVipPort.set(`${vip}:${p.port}`, p)
    byDnsName.set(`${s.name}.${namespace}.${dnsDomain}`, svc)
    if (namespace === 'default') byDnsName.set(`${s.name}.${dnsDomain}`, svc)
  }
  const listeners = [...byVipPort.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, p]) => ({
    key: k, vip: p.vip, port: p.port, protocol: p.protocol, service: p.service,
  }))
  return { revision: 1, dnsDomain, services: byKey, byVipPort, byDnsName, listeners }
}
