/**
 * What the destination agent does with one CONNECT stream: deliver it to a workload
 * registered on this node, or refuse it with a status and a stable code. Only literal
 * `IP:PORT` authorities that the routing table binds to this node are delivered, so the
 * tunnel is never a relay to anywhere else, nor to the agent itself.
 */
import net from 'node:net'
import type { RoutingTable, TargetBinding } from '../routing/routing-table'

export type InboundPlan =
  | { kind: 'deliver'; target: { host: string; port: number }; bindings: readonly TargetBinding[] }
  | { kind: 'reject'; status: number; code: string; reason: string }

export interface InboundInput {
  readonly table: RoutingTable
  readonly localNode: string
  /** `host:port` the tunnel listens on. */
  readonly tunnelAddress: string
  readonly agentPorts: readonly number[]
  readonly method: string
  readonly authority: string | undefined
}

export function planInbound(input: InboundInput): InboundPlan {
  if (input.method !== 'CONNECT') {
    return reject(405, 'NM_TUNNEL_METHOD', `method ${input.method} is not served on the tunnel; only CONNECT is`)
  }
  const dest = input.authority === undefined ? undefined : parseHostPort(input.authority)
  if (dest === undefined) {
    return reject(400, 'NM_TUNNEL_BAD_AUTHORITY', `:authority ${JSON.stringify(input.authority ?? '')} is not a literal IP:PORT`)
  }
  const self = parseHostPort(input.tunnelAddress)
  if (self !== undefined && self.port === dest.port && (self.host === dest.host || isUnspecified(self.host))) {
    return reject(403, 'NM_TUNNEL_LOOP', `${input.authority} is this agent's own tunnel address`)
  }
  if (input.agentPorts.includes(dest.port)) {
    return reject(403, 'NM_TUNNEL_AGENT_PORT', `port ${dest.port} belongs to the agent, not to a workload`)
  }
  const all = input.table.byTarget.get(dest.key) ?? (dest.raw !== dest.key ? input.table.byTarget.get(dest.raw) : undefined) ?? []
  const bindings = all.filter((b) => b.endpoint.node === input.localNode)
  const first = bindings[0]
  if (first === undefined) {
    const where = all.length > 0 ? `registered on node ${all[0]?.endpoint.node}, not ${input.localNode}` : 'not a registered workload'
    return reject(403, 'NM_TUNNEL_NOT_LOCAL', `${input.authority} is ${where}`)
  }
  // Deliver to the registered address, never to the text the peer sent.
  return { kind: 'deliver', target: { host: first.endpoint.address, port: first.endpoint.port }, bindings }
}

function reject(status: number, code: string, reason: string): InboundPlan {
  return { kind: 'reject', status, code, reason }
}

interface HostPort {
  /** Canonical address: dotted IPv4, or compressed lowercase IPv6 without brackets. */
  readonly host: string
  readonly port: number
  /** `host:port` / `[host]:port` with the canonical host: the routing table's target key. */
  readonly key: string
  /** The same with the host as written (lowercased), for registries holding uncompressed IPv6. */
  readonly raw: string
}

/** `IPv4:PORT` or `[IPv6]:PORT`; names, zone IDs, missing or out-of-range ports are refused. */
export function parseHostPort(s: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(s)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535 || (m[3] as string).startsWith('0')) return undefined
  if (m[2] !== undefined) {
    if (!net.isIPv4(m[2])) return undefined
    return { host: m[2], port, key: `${m[2]}:${port}`, raw: `${m[2]}:${port}` }
  }
  const written = (m[1] as string).toLowerCase()
  if (!net.isIPv6(written)) return undefined
  const host = new URL(`http://[${written}]/`).hostname.slice(1, -1)
  return { host, port, key: `[${host}]:${port}`, raw: `[${written}]:${port}` }
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}
