/**
 * Parse at the edge: every registry record is validated here when read. A failure names the
 * field (`ports[1].port: must be 1..65535, got 70000`) so an operator can fix the record. The
 * checks of writes before a store commits them are in validate-input.ts.
 */
import net from 'node:net'
import { parseCidr } from './cidr'
import { isValidDnsName } from './names'
import {
  arr, bool, dnsLabel, dnsSubdomain, dropUndefined, endpointId, fail, guard, headerName, httpPath, int, ip,
  labelKey, method, nodeName, num, obj, oneOf, optList, policyPath, port, show, str, strMap, svcKey, timestamp,
  type Obj, type ParseResult,
} from './validate-fields'
import {
  DEFAULT_MESH_CONFIG, PORT_PROTOCOLS,
  type AuthorizationPolicy, type Endpoint, type MeshConfig, type NodeRecord, type RecordKind,
  type RecordOfKind, type Route, type RouteBackend, type RouteMatch, type RouteRule, type Service,
  type ServiceDefaults, type ServicePort,
} from './records'

export type { ParseResult }

/** A service's port list; also checks a createService input. */
export function servicePorts(v: unknown, path: string): ServicePort[] {
  const ports = arr(v, path, { nonEmpty: true }).map((raw, i): ServicePort => {
    const p = obj(raw, `${path}[${i}]`)
    const number = port(p.port, `${path}[${i}].port`)
    const protocol = oneOf(p.protocol, `${path}[${i}].protocol`, PORT_PROTOCOLS)
    const name = p.name === undefined ? `${protocol}-${number}` : dnsLabel(p.name, `${path}[${i}].name`)
    return { name, port: number, protocol }
  })
  ports.forEach((p, i) => {
    const j = ports.findIndex((q) => q.port === p.port)
    if (j !== i) fail(`${path}[${i}].port`, `duplicates ${path}[${j}].port (${p.port})`)
    const k = ports.findIndex((q) => q.name === p.name)
    if (k !== i) fail(`${path}[${i}].name`, `duplicates ${path}[${k}].name (${p.name})`)
  })
  return ports
}

function parseService(o: Obj): Service {
  const name = dnsLabel(o.name, 'name')
  return {
    name,
    namespace: dnsLabel(o.namespace, 'namespace'),
    ports: servicePorts(o.ports, 'ports'),
    vip: ip(o.vip, 'vip'),
    serviceAccount: o.serviceAccount === undefined ? name : dnsSubdomain(o.serviceAccount, 'serviceAccount'),
    createdAt: timestamp(o.createdAt, 'createdAt'),
  }
}

/** An endpoint's service-port to target-port map; also checks a registerEndpoint input. */
export function endpointPorts(v: unknown, path: string): Record<string, number> {
  const o = obj(v, path)
  const out: Record<string, number> = {}
  for (const [k, val] of Object.entries(o)) {
    if (!/^[1-9][0-9]{0,4}$/.test(k) || Number(k) > 65535) fail(`${path}.${k}`, 'key must be a service port number 1..65535')
    out[k] = port(val, `${path}.${k}`)
  }
  if (Object.keys(out).length === 0) fail(path, 'must map at least one service port to a target port')
  return out
}

function parseEndpoint(o: Obj): Endpoint {
  const ep: Endpoint = {
    id: endpointId(o.id, 'id'),
    service: svcKey(o.service, 'service'),
    node: nodeName(o.node, 'node'),
    address: ip(o.address, 'address'),
    ports: endpointPorts(o.ports, 'ports'),
    weight: o.weight === undefined ? 1 : int(o.weight, 'weight', 1, 1000),
    labels: o.labels === undefined ? {} : strMap(o.labels, 'labels', labelKey, 63),
    health: o.health === undefined ? 'healthy' : oneOf(o.health, 'health', ['healthy', 'unhealthy'] as const),
    createdAt: timestamp(o.createdAt, 'createdAt'),
  }
  return o.lease === undefined ? ep : { ...ep, lease: nodeName(o.lease, 'lease') }
}

/** `IP`, `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT`. */
function tunnelAddress(v: unknown, path: string): string {
  const s = str(v, path, 260)
  if (net.isIP(s) !== 0) return s
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(s)
  const host = m?.[1] ?? m?.[2]
  const okHost = host !== undefined && (m?.[1] !== undefined ? net.isIPv6(host) : net.isIPv4(host) || isValidDnsName(host))
  if (!m || !okHost || Number(m[3]) < 1 || Number(m[3]) > 65535) fail(path, `must be IP, IP:PORT or HOST:PORT, got ${show(s)}`)
  return s
}

function parseNode(o: Obj): NodeRecord {
  return {
    name: nodeName(o.name, 'name'),
    tunnelAddress: tunnelAddress(o.tunnelAddress, 'tunnelAddress'),
    agentVersion: str(o.agentVersion, 'agentVersion', 64),
    startedAt: timestamp(o.startedAt, 'startedAt'),
  }
}

function identity(v: unknown, path: string): string {
  const s = str(v, path, 512)
  if (/\s/.test(s) || !(s === '*' || s.startsWith('spiffe://') || s.startsWith('*') || s.endsWith('*'))) {
    fail(path, `must be a SPIFFE ID (spiffe://...), '*', or a pattern with a leading or trailing '*', got ${show(s)}`)
  }
  return s
}

function parsePolicy(o: Obj): AuthorizationPolicy {
  const from = o.from === undefined ? {} : obj(o.from, 'from')
  const to = o.to === undefined ? {} : obj(o.to, 'to')
  const target = str(o.target, 'target', 127)
  return {
    name: dnsLabel(o.name, 'name'),
    target: target === '*' ? target : svcKey(target, 'target'),
    action: oneOf(o.action, 'action', ['ALLOW', 'DENY'] as const),
    from: dropUndefined({
      identities: optList(from.identities, 'from.identities', identity),
      namespaces: optList(from.namespaces, 'from.namespaces', (x, p) => (x === '*' ? '*' : dnsLabel(x, p))),
      services: optList(from.services, 'from.services', svcKey),
    }),
    to: dropUndefined({
      ports: optList(to.ports, 'to.ports', port),
      methods: optList(to.methods, 'to.methods', method),
      paths: optList(to.paths, 'to.paths', policyPath),
    }),
  }
}

function routeMatch(v: unknown, path: string): RouteMatch {
  const o = obj(v, path)
  if (o.pathPrefix !== undefined && o.pathExact !== undefined) fail(path, 'set pathPrefix or pathExact, not both')
  return dropUndefined({
    pathPrefix: o.pathPrefix === undefined ? undefined : httpPath(o.pathPrefix, `${path}.pathPrefix`),
    pathExact: o.pathExact === undefined ? undefined : httpPath(o.pathExact, `${path}.pathExact`),
    method: o.method === undefined ? undefined : method(o.method, `${path}.method`),
    headers: o.headers === undefined ? undefined : strMap(o.headers, `${path}.headers`, headerName, 1024),
  })
}

function routeRule(v: unknown, path: string): RouteRule {
  const o = obj(v, path)
  const backends = arr(o.backends, `${path}.backends`, { nonEmpty: true }).map((b, i): RouteBackend => {
    const bo = obj(b, `${path}.backends[${i}]`)
    return { service: svcKey(bo.service, `${path}.backends[${i}].service`), weight: int(bo.weight, `${path}.backends[${i}].weight`, 0, 100) }
  })
  backends.forEach((b, i) => {
    const j = backends.findIndex((c) => c.service === b.service)
    if (j !== i) fail(`${path}.backends[${i}].service`, `duplicates ${path}.backends[${j}].service (${b.service})`)
  })
  if (backends.every((b) => b.weight === 0)) fail(`${path}.backends`, 'weights sum to 0: at least one backend needs a weight above 0')
  let retries: RouteRule['retries']
  if (o.retries !== undefined) {
    const r = obj(o.retries, `${path}.retries`)
    retries = dropUndefined({
      attempts: int(r.attempts, `${path}.retries.attempts`, 0, 10),
      perTryTimeoutMs: r.perTryTimeoutMs === undefined ? undefined : int(r.perTryTimeoutMs, `${path}.retries.perTryTimeoutMs`, 1, 3_600_000),
      on: optList(r.on, `${path}.retries.on`, (x, p) => {
        const s = str(x, p, 64)
        if (!/^[a-z0-9-]+$/.test(s)) fail(p, `must be a retry condition such as 5xx or connect-failure, got ${show(s)}`)
        return s
      }),
    })
  }
  return dropUndefined({
    matches: o.matches === undefined ? [] : arr(o.matches, `${path}.matches`).map((m, i) => routeMatch(m, `${path}.matches[${i}]`)),
    backends,
    timeoutMs: o.timeoutMs === undefined ? undefined : int(o.timeoutMs, `${path}.timeoutMs`, 1, 3_600_000),
    retries,
  })
}

function parseRoute(o: Obj): Route {
  return {
    service: svcKey(o.service, 'service'),
    rules: arr(o.rules, 'rules', { nonEmpty: true }).map((r, i) => routeRule(r, `rules[${i}]`)),
  }
}

function parseDefaults(o: Obj): ServiceDefaults {
  let outlierDetection: ServiceDefaults['outlierDetection']
  if (o.outlierDetection !== undefined) {
    const d = obj(o.outlierDetection, 'outlierDetection')
    outlierDetection = {
      consecutiveErrors: int(d.consecutiveErrors, 'outlierDetection.consecutiveErrors', 1, 1000),
      baseEjectionMs: int(d.baseEjectionMs, 'outlierDetection.baseEjectionMs', 1, 3_600_000),
      maxEjectionPercent: int(d.maxEjectionPercent, 'outlierDetection.maxEjectionPercent', 0, 100),
    }
  }
  let rateLimit: ServiceDefaults['rateLimit']
  if (o.rateLimit !== undefined) {
    const r = obj(o.rateLimit, 'rateLimit')
    rateLimit = { requestsPerSecond: num(r.requestsPerSecond, 'rateLimit.requestsPerSecond', 0, 1e9), burst: int(r.burst, 'rateLimit.burst', 1, 1e9) }
  }
  return dropUndefined({
    service: svcKey(o.service, 'service'),
    loadBalancing: o.loadBalancing === undefined ? undefined : oneOf(o.loadBalancing, 'loadBalancing', ['p2c', 'round-robin', 'random'] as const),
    outlierDetection,
    rateLimit,
  })
}

const PARSERS: { [K in RecordKind]: (o: Obj) => RecordOfKind[K] } = {
  service: parseService,
  endpoint: parseEndpoint,
  node: parseNode,
  policy: parsePolicy,
  route: parseRoute,
  defaults: parseDefaults,
}

function parseJson(raw: string): ParseResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown }
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` }
  }
}

/** Validates raw record JSON. Unknown extra fields are ignored (newer writers may add some). */
export function parseRecord<K extends RecordKind>(kind: K, raw: string): ParseResult<RecordOfKind[K]> {
  const json = parseJson(raw)
  if (!json.ok) return json
  return guard(() => PARSERS[kind](obj(json.value, kind)))
}

/** The mesh config; undefined (never initialised) means the defaults. Missing fields default too. */
export function parseMeshConfig(raw: string | undefined): ParseResult<MeshConfig> {
  if (raw === undefined) return { ok: true, value: DEFAULT_MESH_CONFIG }
  const json = parseJson(raw)
  if (!json.ok) return json
  return guard(() => checkMesh(obj(json.value, 'mesh')))
}

/** The mesh config fields, defaults filled; also checks an initMesh input merged with the current config. */
export function checkMesh(o: Obj): MeshConfig {
  let vipCidr = DEFAULT_MESH_CONFIG.vipCidr
  if (o.vipCidr !== undefined) {
    const c = parseCidr(str(o.vipCidr, 'vipCidr', 18), { minPrefix: 8, maxPrefix: 30 })
    if (!c.ok) fail('vipCidr', c.reason)
    vipCidr = c.value.text
  }
  return {
    vipCidr,
    trustDomain: o.trustDomain === undefined ? DEFAULT_MESH_CONFIG.trustDomain : dnsSubdomain(o.trustDomain, 'trustDomain'),
    defaultDeny: o.defaultDeny === undefined ? DEFAULT_MESH_CONFIG.defaultDeny : bool(o.defaultDeny, 'defaultDeny'),
  }
}
