/**
 * Routing tables for data-plane tests, compiled by the real compiler from a small service
 * description, so fixtures always have every field the data plane reads. Endpoints are on
 * `node-a`, the local node, unless they say otherwise.
 */
import type { Endpoint, NodeRecord, PortProtocol, Service } from '../../../registry/records'
import { DEFAULT_MESH_CONFIG } from '../../../registry/records'
import type { Snapshot } from '../../../registry/snapshot'
import { compileRoutingTable } from '../../../agent/routing/compile-routing-table'
import type { RoutingTable } from '../../../agent/routing/routing-table'

export const LOCAL_NODE = 'node-a'

export interface FixturePort {
  readonly port: number
  readonly protocol?: PortProtocol
  readonly endpoints: readonly { address?: string; port: number; weight?: number; node?: string }[]
}

export interface FixtureService {
  readonly name: string
  readonly namespace?: string
  readonly vip?: string
  readonly ports: readonly FixturePort[]
}

export function buildTable(services: readonly FixtureService[], dnsDomain = 'mesh', nodes: readonly NodeRecord[] = []): RoutingTable {
  const svcs = new Map<string, Service>()
  const endpoints = new Map<string, Endpoint>()
  let n = 0
  for (const s of services) {
    const namespace = s.namespace ?? 'default'
    const key = `${namespace}/${s.name}`
    const vip = s.vip ?? `127.77.0.${++n}`
    svcs.set(key, {
      name: s.name, namespace, vip, serviceAccount: s.name, createdAt: '2026-01-01T00:00:00Z',
      ports: s.ports.map((p) => ({ name: `${p.protocol ?? 'http'}-${p.port}`, port: p.port, protocol: p.protocol ?? 'http' })),
    })
    // One endpoint record per (port, index): fixtures give endpoints per service port.
    for (const p of s.ports) {
      p.endpoints.forEach((e, i) => {
        const id = `${s.name}-${p.port}-${i}`
        endpoints.set(id, {
          id, service: key, node: e.node ?? LOCAL_NODE, address: e.address ?? '127.0.0.1', ports: { [String(p.port)]: e.port },
          weight: e.weight ?? 1, labels: {}, health: 'healthy', createdAt: '2026-01-01T00:00:00Z',
        })
      })
    }
  }
  const snapshot: Snapshot = {
    revision: 1, cursor: '0-0', mesh: DEFAULT_MESH_CONFIG, services: svcs, endpoints,
    nodes: new Map(nodes.map((x) => [x.name, x])), policies: new Map(), routes: new Map(), defaults: new Map(), rejected: [],
  }
  return compileRoutingTable(snapshot, { dnsDomain, localNode: LOCAL_NODE }).table
}
