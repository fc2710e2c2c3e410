/**
 * Snapshot -> RoutingTable. Pure: the same snapshot always compiles to the same table, and
 * nothing in the table refers back to mutable state. The data plane swaps the result in as
 * one reference.
 */
import { joinHostPort } from '../address-text'
import net from 'node:net'
import type { Endpoint, Service } from '../../registry/records'
import { DEFAULT_TUNNEL_PORT } from '../agent-options'
import { DEFAULT_NAMESPACE } from '../../registry/names'
import { compilePolicies } from '../authz/compile-policies'
import { workloadId } from '../identity/spiffe'
import type { Snapshot } from '../../registry/snapshot'
import type {
  CompiledEndpoint, CompiledNode, CompiledPort, CompiledService, ListenerSpec, LocalSource, RoutingTable, TargetBinding,
} from './routing-table'

export interface CompileOptions {
  readonly dnsDomain: string
  /** This agent's node: its endpoints are reached directly and attribute local sources. */
  readonly localNode: string
}

export interface CompileResult {
  readonly table: RoutingTable
  /** Conflicts the compile resolved by leaving something out, for the log. */
  readonly warnings: readonly string[]
}

export function compileRoutingTable(snapshot: Snapshot, opts: CompileOptions): CompileResult {
  const domain = opts.dnsDomain.toLowerCase().replace(/\.$/, '')
  const warnings: string[] = []
  const reachable = [...snapshot.endpoints.values()].filter((ep) => {
    if (ep.node === opts.localNode || snapshot.nodes.has(ep.node)) return true
    // No agent there to carry the tunnel: picking it could only fail (or leak plaintext).
    warnings.push(`endpoint ${ep.id} of ${ep.service} left out: node ${ep.node} has no agent in the registry`)
    return false
  })
  const endpointsByService = groupEndpoints(reachable)
  const services = new Map<string, CompiledService>()
  const byVipPort = new Map<string, CompiledPort>()
  const byDnsName = new Map<string, CompiledService>()
  const listeners: ListenerSpec[] = []
  const byTarget = new Map<string, TargetBinding[]>()

  for (const key of [...snapshot.services.keys()].sort()) {
    const svc = snapshot.services.get(key) as Service
    const compiled = compileService(key, svc, endpointsByService.get(key) ?? [], snapshot.mesh.trustDomain)
    const clash = compiled.ports.find((p) => byVipPort.has(`${svc.vip}:${p.port}`))
    if (clash) {
      // The stores never hand out one VIP twice; if a hand-edited registry does, the first
      // service (by key) keeps it rather than both receiving each other's traffic.
      warnings.push(`service ${key} left out: VIP ${svc.vip}:${clash.port} already serves ${byVipPort.get(`${svc.vip}:${clash.port}`)?.service}`)
      continue
    }
    services.set(key, compiled)
    for (const p of compiled.ports) {
      const vipPort = `${svc.vip}:${p.port}`
      byVipPort.set(vipPort, p)
      listeners.push({ key: vipPort, vip: svc.vip, port: p.port, protocol: p.protocol, service: key })
      for (const endpoint of p.endpoints) {
        const bound = byTarget.get(endpoint.target)
        if (bound) bound.push({ port: p, endpoint })
        else byTarget.set(endpoint.target, [{ port: p, endpoint }])
      }
    }
    byDnsName.set(`${svc.name}.${svc.namespace}.${domain}`, compiled)
    if (svc.namespace === DEFAULT_NAMESPACE) byDnsName.set(`${svc.name}.${domain}`, compiled)
  }
  listeners.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const nodes = new Map<string, CompiledNode>()
  for (const n of snapshot.nodes.values()) nodes.set(n.name, { name: n.name, tunnelAddress: withTunnelPort(n.tunnelAddress) })
  return {
    table: {
      revision: snapshot.revision, dnsDomain: domain, trustDomain: snapshot.mesh.trustDomain, nodes,
      services, byVipPort, byDnsName, listeners, byTarget, localSources: localSources(services, reachable, opts.localNode),
      serviceByIdentity: serviceByIdentity(services), authz: compilePolicies(snapshot.policies), defaultDeny: snapshot.mesh.defaultDeny,
    },
    warnings,
  }
}

function serviceByIdentity(services: ReadonlyMap<string, CompiledService>): Map<string, string> {
  const seen = new Map<string, string | null>()
  for (const svc of services.values()) seen.set(svc.identity, seen.has(svc.identity) ? null : svc.key)
  const out = new Map<string, string>()
  for (const [identity, key] of seen) if (key !== null) out.set(identity, key)
  return out
}

function localSources(services: ReadonlyMap<string, CompiledService>, endpoints: readonly Endpoint[], localNode: string): Map<string, LocalSource | 'ambiguous'> {
  const out = new Map<string, LocalSource | 'ambiguous'>()
  for (const ep of endpoints) {
    const svc = ep.node === localNode ? services.get(ep.service) : undefined
    if (!svc) continue
    const identity = svc.identity
    const seen = out.get(ep.address)
    if (seen === undefined) out.set(ep.address, { identity, service: svc.key })
    else if (seen !== 'ambiguous' && seen.identity !== identity) out.set(ep.address, 'ambiguous')
    // Same identity, another service (two services sharing a service account): identity
    // stands, but the source service is no longer one.
    else if (seen !== 'ambiguous' && seen.service !== svc.key) out.set(ep.address, { identity })
  }
  return out
}

function groupEndpoints(endpoints: Iterable<Endpoint>): Map<string, Endpoint[]> {
  const out = new Map<string, Endpoint[]>()
  for (const ep of endpoints) {
    const list = out.get(ep.service)
    if (list) list.push(ep)
    else out.set(ep.service, [ep])
  }
  return out
}

function compileService(key: string, svc: Service, endpoints: readonly Endpoint[], trustDomain: string): CompiledService {
  const identity = workloadId(trustDomain, svc.namespace, svc.serviceAccount)
  const healthy = endpoints.filter((ep) => ep.health === 'healthy').sort((a, b) => (a.id < b.id ? -1 : 1))
  const ports: CompiledPort[] = svc.ports.map((p) => ({
    service: key,
    serviceName: svc.name,
    namespace: svc.namespace,
    vip: svc.vip,
    name: p.name,
    port: p.port,
    protocol: p.protocol,
    identity,
    endpoints: healthy.flatMap((ep): CompiledEndpoint[] => {
      const target = ep.ports[String(p.port)]
      if (target === undefined) return []
      return [{ id: ep.id, node: ep.node, address: ep.address, port: target, weight: ep.weight, target: joinHostPort(ep.address, target) }]
    }),
  }))
  return { key, name: svc.name, namespace: svc.namespace, vip: svc.vip, serviceAccount: svc.serviceAccount, identity, ports }
}

/** Node records may give a bare IP; the tunnel port is then the default. */
function withTunnelPort(address: string): string {
  return net.isIP(address) === 0 ? address : joinHostPort(address, DEFAULT_TUNNEL_PORT)
}
