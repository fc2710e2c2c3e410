/** Hand-built routing tables for the DNS tests. */
import type { CompiledPort, CompiledService, RoutingTable } from '../../../agent/routing/routing-table'
import type { PortProtocol } from '../../../registry/records'

export function service(
  name: string, namespace: string, vip: string, ports: readonly [string, number, PortProtocol][],
): CompiledService {
  const key = `${namespace}/${name}`
  const compiled: CompiledPort[] = ports.map(([portName, port, protocol]) => ({
    service: key, serviceName: name, namespace, vip, name: portName, port, protocol, endpoints: [],
  }))
  return { key, name, namespace, vip, serviceAccount: name, ports: compiled }
}

/** Indexes services the way the compiler does: `NAME.NS.DOMAIN`, plus `NAME.DOMAIN` for `default`. */
export function meshTable(services: readonly CompiledService[], dnsDomain = 'mesh', revision = 7): RoutingTable {
  const byDnsName = new Map<string, CompiledService>()
  for (const s of services) {
    byDnsName.set(`${s.name}.${s.namespace}.${dnsDomain}`, s)
    if (s.namespace === 'default') byDnsName.set(`${s.name}.${dnsDomain}`, s)
  }
  return {
    revision, dnsDomain, byDnsName, listeners: [], byVipPort: new Map(), byTarget: new Map(),
    services: new Map(services.map((s) => [s.key, s])),
  }
}

export const WEB = service('web', 'default', '127.77.0.10', [['http', 8080, 'http'], ['grpc-api', 9090, 'grpc']])
export const DB = service('db', 'data', '127.77.0.20', [['postgres', 5432, 'tcp']])
export const TABLE = meshTable([WEB, DB])
