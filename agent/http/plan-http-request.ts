/**
 * The routing decision for one HTTP/1.1 request, as a plain value: forward (service port,
 * endpoint, rewritten head) or reject (status, stable code, what to do). Pure: the table,
 * load and randomness come in, nothing is read from the environment.
 */
import type { DeliverySource } from '../routing/plan-delivery'
import type { CompiledEndpoint, CompiledPort, RoutingTable, TargetBinding } from '../routing/routing-table'
import { pickEndpoint } from '../routing/pick-endpoint'
import { reject, type HttpRejection } from './http-error-response'
import type { RequestHead } from './http-head'
import { buildUpstreamHead } from './rewrite-heads'

/**
 * How the request reached the agent: a service VIP listener, the HTTP proxy endpoint (15080),
 * or a tunnel stream from another agent for a workload on this node (the endpoint is fixed by
 * the CONNECT authority; the source is the verified peer).
 */
export type HttpBinding =
  | { kind: 'vip'; vipPort: string }
  | { kind: 'proxy-endpoint' }
  | { kind: 'inbound'; bindings: readonly TargetBinding[]; source: DeliverySource }

export interface ForwardPlan {
  readonly kind: 'forward'
  readonly port: CompiledPort
  readonly endpoint: CompiledEndpoint
  /** The head to send upstream. */
  readonly head: Buffer
  /** Safe to send twice (RFC 9110 9.2.2). */
  readonly idempotent: boolean
}

export interface PlanRejection extends HttpRejection {
  /** The service port, when the request got as far as naming one (for metrics). */
  readonly port: CompiledPort | undefined
}

export type HttpPlan = ForwardPlan | PlanRejection

export interface PlanHttpInput {
  readonly table: RoutingTable
  readonly binding: HttpBinding
  readonly head: RequestHead
  readonly clientAddress: string
  readonly outstanding: (target: string) => number
  readonly random: () => number
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

export function planHttpRequest(input: PlanHttpInput): HttpPlan {
  const { table, binding, head } = input
  if (head.method === 'CONNECT') {
    return refuse(405, 'NM_METHOD_NOT_ALLOWED', 'CONNECT is not supported: the mesh routes only to mesh services and is not a general forward proxy')
  }
  if (head.targetForm === 'absolute' && head.scheme !== 'http') {
    return refuse(400, 'NM_BAD_REQUEST', `only http:// targets can be proxied, not ${head.scheme}://; send plain HTTP to NAME.mesh`)
  }
  if (binding.kind === 'inbound') return planInbound(binding.bindings, head)
  let port: CompiledPort | PlanRejection
  if (binding.kind === 'vip') {
    port = table.byVipPort.get(binding.vipPort) ??
      refuse(404, 'NM_UNKNOWN_SERVICE', `no mesh service listens on ${binding.vipPort} any more; resolve the name again`)
  } else {
    const authority = head.authority ?? head.host
    if (authority === undefined || authority === '') {
      return refuse(400, 'NM_BAD_REQUEST', `no Host: send Host: NAME.${table.dnsDomain} or an absolute http:// URL`)
    }
    port = resolveAuthority(table, authority)
  }
  if ('kind' in port) return port
  if (port.protocol === 'tcp') {
    return refuse(400, 'NM_NOT_HTTP_PORT', `${port.service} port ${port.port} is declared tcp; connect to it directly, not through the HTTP proxy`, port)
  }
  if (port.protocol !== 'http') {
    return refuse(501, 'NM_PROTOCOL_UNSUPPORTED', `${port.service} port ${port.port} is declared ${port.protocol}, which this HTTP/1.1 path does not carry yet`, port)
  }
  const endpoint = pickEndpoint(port.endpoints, input.outstanding, input.random)
  if (endpoint === undefined) {
    return refuse(503, 'NM_NO_HEALTHY_ENDPOINT', `${port.service} port ${port.port} has no healthy endpoint; check its workloads with nodemesh endpoints`, port)
  }
  const host = head.targetForm === 'absolute' ? head.authority : undefined
  return {
    kind: 'forward', port, endpoint,
    head: buildUpstreamHead(head, host, input.clientAddress),
    idempotent: IDEMPOTENT.has(head.method),
  }
}

/** A request inside a tunnel stream: to the target the stream was opened for, nowhere else. */
function planInbound(bindings: readonly TargetBinding[], head: RequestHead): HttpPlan {
  const http = bindings.find((b) => b.port.protocol === 'http')
  if (http === undefined) return refuse(400, 'NM_NOT_HTTP_PORT', 'the tunnel target serves no HTTP port')
  return {
    kind: 'forward', port: http.port, endpoint: http.endpoint,
    head: buildUpstreamHead(head, undefined, undefined),
    idempotent: IDEMPOTENT.has(head.method),
  }
}

/** Service port named by a Host value or absolute-form authority (`web.mesh`, `web.default.mesh:8080`). */
function resolveAuthority(table: RoutingTable, authority: string): CompiledPort | PlanRejection {
  let host = authority
  let portNumber: number | undefined
  const colon = authority.lastIndexOf(':')
  if (colon !== -1 && !authority.endsWith(']')) {
    const digits = authority.slice(colon + 1)
    if (!/^[0-9]{1,5}$/.test(digits)) return refuse(400, 'NM_BAD_REQUEST', `invalid port in "${authority}"`)
    portNumber = Number(digits)
    host = authority.slice(0, colon)
  }
  host = host.toLowerCase()
  if (host.endsWith('.')) host = host.slice(0, -1)
  const svc = table.byDnsName.get(host)
  if (svc === undefined) {
    // A VIP used as the host (e.g. from a resolved name) routes like the VIP listener would.
    const byVip = table.byVipPort.get(`${host}:${portNumber ?? 80}`)
    if (byVip !== undefined) return byVip
    const inMesh = host === table.dnsDomain || host.endsWith(`.${table.dnsDomain}`)
    return refuse(404, 'NM_UNKNOWN_SERVICE', inMesh
      ? `no mesh service is named ${host}; check the name with nodemesh services`
      : `${host} is not a mesh service; this endpoint only routes to NAME.${table.dnsDomain} or NAME.NAMESPACE.${table.dnsDomain}`)
  }
  if (portNumber !== undefined) {
    const p = svc.ports.find((x) => x.port === portNumber)
    return p ?? refuse(404, 'NM_UNKNOWN_PORT', `${svc.key} has no port ${portNumber} (ports: ${svc.ports.map((x) => x.port).join(', ')})`)
  }
  const p80 = svc.ports.find((x) => x.port === 80)
  if (p80 !== undefined) return p80
  const http = svc.ports.filter((x) => x.protocol === 'http')
  if (http.length === 1) return http[0]!
  if (http.length === 0) return refuse(400, 'NM_NOT_HTTP_PORT', `${svc.key} has no HTTP port; name a port as ${host}:PORT`)
  return refuse(400, 'NM_AMBIGUOUS_PORT', `${svc.key} has several HTTP ports (${http.map((x) => x.port).join(', ')}); name one as ${host}:PORT`)
}

function refuse(status: number, code: HttpRejection['code'], message: string, port?: CompiledPort): PlanRejection {
  return { ...reject(status, code, message), port }
}
