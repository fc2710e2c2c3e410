/**
 * Parse at the edge: every registry record is validated here when read, and every write is
 * checked here before a store commits it. A failure names the field
 * (`ports[1].port: must be 1..65535, got 70000`) so an operator can fix the record.
 */
import net from 'node:net'
import { parseCidr } from './cidr'
import { NmError } from './errors'
import { isValidName, serviceKey } from './names'
import {
  DEFAULT_MESH_CONFIG, PORT_PROTOCOLS,
  type AuthorizationPolicy, type Endpoint, type MeshConfig, type NodeRecord, type RecordKind,
  type RecordOfKind, type Route, type RouteBackend, type RouteMatch, type RouteRule, type Service,
  type ServiceDefaults, type ServicePort,
} from './records'
import type { CreateServiceInput, PutableKind, PutableRecord, RegisterEndpointInput } from './store'

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string }

/** Thrown inside this module only; parseRecord turns it into a ParseResult. */
class Invalid extends Error {}

function fail(path: string, msg: string): never {
  throw new Invalid(`${path}: ${msg}`)
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

type Obj = { readonly [k: string]: unknown }

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `must be an object, got ${show(v)}`)
  return v as Obj
}

function str(v: unknown, path: string, max = 253): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, `must be a non-empty string, got ${show(v)}`)
  if (v.length > max) fail(path, `must be at most ${max} characters`)
  return v
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `must be ${min}..${max}, got ${show(v)}`)
  return v
}

function num(v: unknown, path: string, minExclusive: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= minExclusive || v > max) {
    fail(path, `must be a number above ${minExclusive} and at most ${max}, got ${show(v)}`)
  }
  return v
}

function arr(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${show(v)}`)
  if (opts.nonEmpty && v.length === 0) fail(path, 'must not be empty')
  return v
}

/** Optional lists must be absent or non-empty: an empty list would be ambiguous ("any" or "none"). */
function optList<T>(v: unknown, path: string, each: (x: unknown, p: string) => T): T[] | undefined {
  if (v === undefined) return undefined
  if (Array.isArray(v) && v.length === 0) fail(path, 'must not be empty (leave the field out to match any)')
  return arr(v, path).map((x, i) => each(x, `${path}[${i}]`))
}

function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(path, `must be one of ${allowed.join(', ')}, got ${show(v)}`)
  return v as T
}

function dnsLabel(v: unknown, path: string): string {
  const s = str(v, path, 63)
  if (!isValidName(s)) fail(path, `must be a DNS label (lowercase letters, digits, '-'), got ${show(s)}`)
  return s
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
function dnsSubdomain(v: unknown, path: string): string {
  const s = str(v, path, 253)
  if (!SUBDOMAIN.test(s)) fail(path, `must be a DNS name (lowercase labels joined by '.'), got ${show(s)}`)
  return s
}

/** Node names default to the hostname, which may carry uppercase letters or underscores. */
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/
export function isValidNodeName(s: string): boolean {
  return NODE_NAME.test(s)
}
function nodeName(v: unknown, path: string): string {
  const s = str(v, path, 253)
  if (!isValidNodeName(s)) fail(path, `must be a host name (letters, digits, '.', '-', '_'), got ${show(s)}`)
  return s
}

function svcKey(v: unknown, path: string): string {
  const s = str(v, path, 127)
  const slash = s.indexOf('/')
  if (slash < 0 || !isValidName(s.slice(0, slash)) || !isValidName(s.slice(slash + 1))) {
    fail(path, `must be a service key NAMESPACE/NAME, got ${show(s)}`)
  }
  return s
}

function ip(v: unknown, path: string): string {
  const s = str(v, path, 45)
  if (net.isIP(s) === 0) fail(path, `must be an IP address, got ${show(s)}`)
  return s
}

function timestamp(v: unknown, path: string): string {
  const s = str(v, path, 64)
  if (Number.isNaN(Date.parse(s))) fail(path, `must be an ISO 8601 time, got ${show(s)}`)
  return s
}

function port(v: unknown, path: string): number {
  return int(v, path, 1, 65535)
}

function strMap(v: unknown, path: string, key: (k: string, p: string) => void, maxValue: number): Record<string, string> {
  const o = obj(v, path)
  const out: Record<string, string> = {}
  for (const [k, val] of Object.entries(o)) {
    key(k, `${path}.${k}`)
    if (typeof val !== 'string' || val.length > maxValue) fail(`${path}.${k}`, `must be a string of at most ${maxValue} characters, got ${show(val)}`)
    out[k] = val
  }
  return out
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/
function labelKey(k: string, path: string): void {
  if (k.length > 317 || !LABEL_KEY.test(k)) fail(path, 'label key must be [PREFIX/]NAME with NAME of letters, digits, ".", "-", "_" (max 63)')
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
function headerName(k: string, path: string): void {
  if (!HEADER_NAME.test(k)) fail(path, 'header name must be a lowercase HTTP token')
}

const METHOD = /^[A-Z][A-Z0-9_-]{0,31}$/
function method(v: unknown, path: string): string {
  const s = str(v, path, 32)
  if (!METHOD.test(s)) fail(path, `must be an uppercase HTTP method such as GET, got ${show(s)}`)
  return s
}

function httpPath(v: unknown, path: string): string {
  const s = str(v, path, 2048)
  if (!s.startsWith('/') || /\s/.test(s)) fail(path, `must start with '/' and hold no spaces, got ${show(s)}`)
  return s
}

// ---- records ----

function servicePorts(v: unknown, path: string): ServicePort[] {
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

const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export function isValidEndpointId(s: string): boolean {
  return ENDPOINT_ID.test(s)
}

function endpointPorts(v: unknown, path: string): Record<string, number> {
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
  const id = str(o.id, 'id', 128)
  if (!isValidEndpointId(id)) fail('id', `must be letters, digits, '.', '-', '_' (max 128), got ${show(id)}`)
  const ep: Endpoint = {
    id,
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
  const okHost = host !== undefined && (m?.[1] !== undefined ? net.isIPv6(host) : net.isIPv4(host) || SUBDOMAIN.test(host))
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
      paths: optList(to.paths, 'to.paths', httpPath),
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

/** Optional fields are left out rather than set to undefined, so records compare and print cleanly. */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

const PARSERS: { [K in RecordKind]: (o: Obj) => RecordOfKind[K] } = {
  service: parseService,
  endpoint: parseEndpoint,
  node: parseNode,
  policy: parsePolicy,
  route: parseRoute,
  defaults: parseDefaults,
}

function guard<T>(run: () => T): ParseResult<T> {
  try {
    return { ok: true, value: run() }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message }
    throw err
  }
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

function checkMesh(o: Obj): MeshConfig {
  let vipCidr = DEFAULT_MESH_CONFIG.vipCidr
  if (o.vipCidr !== undefined) {
    const c = parseCidr(str(o.vipCidr, 'vipCidr', 18), { minPrefix: 8, maxPrefix: 30 })
    if (!c.ok) fail('vipCidr', c.reason)
    vipCidr = c.value.text
  }
  return {
    vipCidr,
    trustDomain: o.trustDomain === undefined ? DEFAULT_MESH_CONFIG.trustDomain : dnsSubdomain(o.trustDomain, 'trustDomain'),
    defaultDeny: o.defaultDeny === undefined ? DEFAULT_MESH_CONFIG.defaultDeny : checkBool(o.defaultDeny, 'defaultDeny'),
  }
}

function checkBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${show(v)}`)
  return v
}

// ---- write-side checks, shared by every store ----

function orThrow<T>(code: 'NM_BAD_ARGUMENT' | 'NM_BAD_RECORD', what: string, run: () => T): T {
  const r = guard(run)
  if (!r.ok) throw new NmError(code, `${what}: ${r.reason}; fix the field and retry`)
  return r.value
}

/** Checks a partial mesh config before initMesh merges it; returns the merged, validated config. */
export function validateMeshInput(current: MeshConfig, input: Partial<MeshConfig>): MeshConfig {
  return orThrow('NM_BAD_ARGUMENT', 'mesh config', () => checkMesh({ ...current, ...dropUndefined(input) }))
}

export function validateCreateService(input: CreateServiceInput): void {
  orThrow('NM_BAD_ARGUMENT', `service ${String(input.namespace)}/${String(input.name)}`, () => {
    dnsLabel(input.name, 'name')
    dnsLabel(input.namespace, 'namespace')
    servicePorts(input.ports, 'ports')
    if (input.serviceAccount !== undefined) dnsSubdomain(input.serviceAccount, 'serviceAccount')
  })
}

export function validateRegisterEndpoint(input: RegisterEndpointInput, service: Service): void {
  const key = serviceKey(service.namespace, service.name)
  orThrow('NM_BAD_ARGUMENT', `endpoint of ${key}`, () => {
    if (input.id !== undefined && !isValidEndpointId(String(input.id))) fail('id', `must be letters, digits, '.', '-', '_' (max 128), got ${show(input.id)}`)
    if (input.service !== key) fail('service', `must be ${key}, got ${show(input.service)}`)
    nodeName(input.node, 'node')
    ip(input.address, 'address')
    endpointPorts(input.ports, 'ports')
    if (input.weight !== undefined) int(input.weight, 'weight', 1, 1000)
    if (input.labels !== undefined) strMap(input.labels, 'labels', labelKey, 63)
    if (input.health !== undefined) oneOf(input.health, 'health', ['healthy', 'unhealthy'] as const)
    if (input.lease !== undefined) nodeName(input.lease, 'lease')
  })
  const declared = service.ports.map((p) => String(p.port))
  const extra = Object.keys(input.ports).filter((k) => !declared.includes(k))
  if (extra.length > 0) {
    throw new NmError('NM_BAD_RECORD', `endpoint of ${key}: ports ${extra.join(', ')} are not ports of the service (it has ${declared.join(', ')})`)
  }
  const missing = declared.filter((k) => !(k in input.ports))
  if (missing.length > 0) {
    throw new NmError('NM_BAD_RECORD', `endpoint of ${key}: every service port needs a target port; missing ${missing.join(', ')}`)
  }
}

/** Validates a record before it is written; returns it as it will be read back (defaults filled). */
export function validatePutRecord<K extends PutableKind>(kind: K, record: PutableRecord[K]): PutableRecord[K] {
  const r = parseRecord(kind, JSON.stringify(record ?? null))
  if (!r.ok) throw new NmError('NM_BAD_RECORD', `${kind} record: ${r.reason}; fix the field and retry`)
  return r.value as PutableRecord[K]
}
