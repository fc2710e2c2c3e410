/** Pure renderings of the agent's state for the admin endpoints (JSON-ready plain objects). */
import type { Snapshot } from '../../registry/snapshot'
import type { RoutingTable } from '../routing/routing-table'

export function renderSnapshot(s: Snapshot): object {
  const obj = <V>(m: ReadonlyMap<string, V>): Record<string, V> => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
  return {
    revision: s.revision,
    mesh: s.mesh,
    services: obj(s.services),
    endpoints: obj(s.endpoints),
    nodes: obj(s.nodes),
    policies: obj(s.policies),
    routes: obj(s.routes),
    defaults: obj(s.defaults),
    rejected: s.rejected,
  }
}

export function renderRoutes(table: RoutingTable): object {
  return {
    revision: table.revision,
    dnsDomain: table.dnsDomain,
    services: [...table.services.values()].map((svc) => ({
      service: svc.key,
      dns: [...table.byDnsName.entries()].filter(([, s]) => s === svc).map(([name]) => name).sort(),
      vip: svc.vip,
      ports: svc.ports.map((p) => ({
        name: p.name,
        port: p.port,
        protocol: p.protocol,
        endpoints: p.endpoints.map((e) => ({ id: e.id, node: e.node, target: e.target, weight: e.weight })),
      })),
    })),
  }
}
