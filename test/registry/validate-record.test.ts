import t from 'tap'
import { DEFAULT_MESH_CONFIG, type RecordKind } from '../../registry/records'
import { parseMeshConfig, parseRecord } from '../../registry/validate-record'

type Json = { [k: string]: any } // eslint-disable-line @typescript-eslint/no-explicit-any

const NOW = '2025-01-02T03:04:05.000Z'
const GOOD: { [K in RecordKind]: Json } = {
  service: { name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, protocol: 'http' }, { name: 'grpc', port: 9090, protocol: 'grpc' }], vip: '127.77.0.9', serviceAccount: 'web-sa', createdAt: NOW },
  endpoint: { id: 'ep-abcdefghij', service: 'shop/web', node: 'Node_1.example', address: '10.0.0.7', ports: { '80': 8080, '9090': 9091 }, weight: 10, labels: { version: 'v2', 'app.kubernetes.io/name': 'web' }, health: 'healthy', lease: 'node-1', createdAt: NOW },
  node: { name: 'node-1', tunnelAddress: '10.0.0.1:15008', agentVersion: '0.1.0', startedAt: NOW },
  policy: { name: 'allow-frontend', target: 'shop/web', action: 'ALLOW', from: { identities: ['spiffe://nodemesh.local/ns/shop/sa/frontend'], namespaces: ['shop'], services: ['shop/frontend'] }, to: { ports: [80], methods: ['GET', 'POST'], paths: ['/api/*'] } },
  route: { service: 'shop/web', rules: [{ matches: [{ pathPrefix: '/v2', method: 'GET', headers: { 'x-canary': '1' } }], backends: [{ service: 'shop/web-v2', weight: 90 }, { service: 'shop/web', weight: 10 }], timeoutMs: 2000, retries: { attempts: 2, perTryTimeoutMs: 500, on: ['5xx', 'connect-failure'] } }] },
  defaults: { service: 'shop/web', loadBalancing: 'p2c', outlierDetection: { consecutiveErrors: 5, baseEjectionMs: 30000, maxEjectionPercent: 50 }, rateLimit: { requestsPerSecond: 100.5, burst: 20 } },
}

const clone = (o: Json): Json => JSON.parse(JSON.stringify(o)) as Json

t.test('good records of every kind parse to the same shape', async (t) => {
  for (const kind of Object.keys(GOOD) as RecordKind[]) {
    const r = parseRecord(kind, JSON.stringify(GOOD[kind]))
    t.ok(r.ok, `${kind} parses`)
    if (r.ok) t.same(r.value, GOOD[kind], `${kind} keeps every field`)
  }
})

t.test('defaults are filled and unknown fields ignored', async (t) => {
  const svc = clone(GOOD.service)
  delete svc.serviceAccount
  delete svc.ports[0].name
  svc.futureField = { x: 1 }
  const r = parseRecord('service', JSON.stringify(svc))
  t.ok(r.ok)
  if (r.ok) {
    t.equal(r.value.serviceAccount, 'web')
    t.equal(r.value.ports[0]!.name, 'http-80')
    t.notOk('futureField' in r.value)
  }
  const ep = clone(GOOD.endpoint)
  for (const f of ['weight', 'labels', 'health', 'lease']) delete ep[f]
  const e = parseRecord('endpoint', JSON.stringify(ep))
  t.ok(e.ok)
  if (e.ok) {
    t.equal(e.value.weight, 1)
    t.same(e.value.labels, {})
    t.equal(e.value.health, 'healthy')
    t.notOk('lease' in e.value, 'a static endpoint has no lease field')
  }
  const p = parseRecord('policy', JSON.stringify({ name: 'deny-all', target: '*', action: 'DENY' }))
  t.ok(p.ok)
  if (p.ok) t.same(p.value, { name: 'deny-all', target: '*', action: 'DENY', from: {}, to: {} })
})

const BAD: Array<[RecordKind, string, (o: Json) => void, RegExp]> = [
  ['service', 'name not a DNS label', (o) => { o.name = 'Web_1' }, /^name: must be a DNS label/],
  ['service', 'namespace missing', (o) => { delete o.namespace }, /^namespace: must be a non-empty string/],
  ['service', 'no ports', (o) => { o.ports = [] }, /^ports: must not be empty/],
  ['service', 'ports not an array', (o) => { o.ports = { port: 80 } }, /^ports: must be an array/],
  ['service', 'port out of range', (o) => { o.ports[1].port = 70000 }, /^ports\[1\]\.port: must be 1\.\.65535, got 70000$/],
  ['service', 'port not an integer', (o) => { o.ports[0].port = 80.5 }, /^ports\[0\]\.port: must be 1\.\.65535/],
  ['service', 'port as string', (o) => { o.ports[0].port = '80' }, /^ports\[0\]\.port: must be 1\.\.65535, got "80"/],
  ['service', 'bad protocol', (o) => { o.ports[0].protocol = 'udp' }, /^ports\[0\]\.protocol: must be one of http, http2, grpc, tcp/],
  ['service', 'duplicate port number', (o) => { o.ports[1].port = 80 }, /^ports\[1\]\.port: duplicates ports\[0\]\.port/],
  ['service', 'duplicate port name', (o) => { o.ports[1].name = 'http' }, /^ports\[1\]\.name: duplicates ports\[0\]\.name/],
  ['service', 'bad port name', (o) => { o.ports[0].name = 'HTTP' }, /^ports\[0\]\.name: must be a DNS label/],
  ['service', 'bad vip', (o) => { o.vip = '127.77.0.300' }, /^vip: must be an IP address/],
  ['service', 'bad service account', (o) => { o.serviceAccount = 'Bad SA' }, /^serviceAccount: must be a DNS name/],
  ['service', 'bad createdAt', (o) => { o.createdAt = 'yesterday' }, /^createdAt: must be an ISO 8601 time/],
  ['endpoint', 'bad id', (o) => { o.id = 'ep/1' }, /^id: must be letters/],
  ['endpoint', 'service not a key', (o) => { o.service = 'web' }, /^service: must be a service key NAMESPACE\/NAME/],
  ['endpoint', 'bad node', (o) => { o.node = 'node 1' }, /^node: must be a host name/],
  ['endpoint', 'bad address', (o) => { o.address = 'example.com' }, /^address: must be an IP address/],
  ['endpoint', 'ports key not a number', (o) => { o.ports = { http: 8080 } }, /^ports\.http: key must be a service port number/],
  ['endpoint', 'ports key out of range', (o) => { o.ports = { '70000': 8080 } }, /^ports\.70000: key must be a service port number/],
  ['endpoint', 'ports target out of range', (o) => { o.ports['80'] = 0 }, /^ports\.80: must be 1\.\.65535, got 0/],
  ['endpoint', 'ports empty', (o) => { o.ports = {} }, /^ports: must map at least one service port/],
  ['endpoint', 'weight zero', (o) => { o.weight = 0 }, /^weight: must be 1\.\.1000, got 0/],
  ['endpoint', 'weight too big', (o) => { o.weight = 1001 }, /^weight: must be 1\.\.1000, got 1001/],
  ['endpoint', 'weight fractional', (o) => { o.weight = 1.5 }, /^weight: must be 1\.\.1000/],
  ['endpoint', 'label value not a string', (o) => { o.labels.version = 2 }, /^labels\.version: must be a string/],
  ['endpoint', 'label key invalid', (o) => { o.labels['bad key'] = 'x' }, /^labels\.bad key: label key must be/],
  ['endpoint', 'bad health', (o) => { o.health = 'ok' }, /^health: must be one of healthy, unhealthy/],
  ['endpoint', 'bad lease', (o) => { o.lease = '' }, /^lease: must be a non-empty string/],
  ['node', 'bad name', (o) => { o.name = '-node' }, /^name: must be a host name/],
  ['node', 'bad tunnel address', (o) => { o.tunnelAddress = '10.0.0.1:99999' }, /^tunnelAddress: must be IP, IP:PORT or HOST:PORT/],
  ['node', 'tunnel address garbage', (o) => { o.tunnelAddress = 'not an address' }, /^tunnelAddress: must be IP/],
  ['node', 'agentVersion missing', (o) => { delete o.agentVersion }, /^agentVersion: must be a non-empty string/],
  ['node', 'startedAt bad', (o) => { o.startedAt = 12 }, /^startedAt: must be a non-empty string/],
  ['policy', 'bad name', (o) => { o.name = 'Allow' }, /^name: must be a DNS label/],
  ['policy', 'bad target', (o) => { o.target = 'web' }, /^target: must be a service key/],
  ['policy', 'bad action', (o) => { o.action = 'allow' }, /^action: must be one of ALLOW, DENY/],
  ['policy', 'from not an object', (o) => { o.from = [] }, /^from: must be an object/],
  ['policy', 'bad identity', (o) => { o.from.identities = ['frontend'] }, /^from\.identities\[0\]: must be a SPIFFE ID/],
  ['policy', 'empty identities', (o) => { o.from.identities = [] }, /^from\.identities: must not be empty/],
  ['policy', 'bad namespace', (o) => { o.from.namespaces = ['shop', 'Bad'] }, /^from\.namespaces\[1\]: must be a DNS label/],
  ['policy', 'bad from service', (o) => { o.from.services = ['frontend'] }, /^from\.services\[0\]: must be a service key/],
  ['policy', 'bad to port', (o) => { o.to.ports = [0] }, /^to\.ports\[0\]: must be 1\.\.65535, got 0/],
  ['policy', 'lowercase method', (o) => { o.to.methods = ['get'] }, /^to\.methods\[0\]: must be an uppercase HTTP method/],
  ['policy', 'path without slash', (o) => { o.to.paths = ['api'] }, /^to\.paths\[0\]: must start with '\/'/],
  ['route', 'bad service', (o) => { o.service = 'x' }, /^service: must be a service key/],
  ['route', 'no rules', (o) => { o.rules = [] }, /^rules: must not be empty/],
  ['route', 'both path kinds', (o) => { o.rules[0].matches[0].pathExact = '/x' }, /^rules\[0\]\.matches\[0\]: set pathPrefix or pathExact, not both/],
  ['route', 'path prefix without slash', (o) => { o.rules[0].matches[0].pathPrefix = 'v2' }, /^rules\[0\]\.matches\[0\]\.pathPrefix: must start with '\/'/],
  ['route', 'bad match method', (o) => { o.rules[0].matches[0].method = 'get' }, /^rules\[0\]\.matches\[0\]\.method: must be an uppercase/],
  ['route', 'bad header name', (o) => { o.rules[0].matches[0].headers = { 'X-Canary': '1' } }, /^rules\[0\]\.matches\[0\]\.headers\.X-Canary: header name must be a lowercase/],
  ['route', 'no backends', (o) => { o.rules[0].backends = [] }, /^rules\[0\]\.backends: must not be empty/],
  ['route', 'backend weight too big', (o) => { o.rules[0].backends[0].weight = 101 }, /^rules\[0\]\.backends\[0\]\.weight: must be 0\.\.100, got 101/],
  ['route', 'backend weights all zero', (o) => { o.rules[0].backends.forEach((b: Json) => { b.weight = 0 }) }, /^rules\[0\]\.backends: weights sum to 0/],
  ['route', 'duplicate backend', (o) => { o.rules[0].backends[1].service = 'shop/web-v2' }, /^rules\[0\]\.backends\[1\]\.service: duplicates/],
  ['route', 'bad timeout', (o) => { o.rules[0].timeoutMs = 0 }, /^rules\[0\]\.timeoutMs: must be 1\.\./],
  ['route', 'bad retry attempts', (o) => { o.rules[0].retries.attempts = 11 }, /^rules\[0\]\.retries\.attempts: must be 0\.\.10, got 11/],
  ['route', 'bad retry condition', (o) => { o.rules[0].retries.on = ['5XX'] }, /^rules\[0\]\.retries\.on\[0\]: must be a retry condition/],
  ['defaults', 'bad load balancing', (o) => { o.loadBalancing = 'least-conn' }, /^loadBalancing: must be one of p2c, round-robin, random/],
  ['defaults', 'bad consecutive errors', (o) => { o.outlierDetection.consecutiveErrors = 0 }, /^outlierDetection\.consecutiveErrors: must be 1\.\.1000/],
  ['defaults', 'bad ejection percent', (o) => { o.outlierDetection.maxEjectionPercent = 150 }, /^outlierDetection\.maxEjectionPercent: must be 0\.\.100, got 150/],
  ['defaults', 'missing base ejection', (o) => { delete o.outlierDetection.baseEjectionMs }, /^outlierDetection\.baseEjectionMs: must be 1\.\./],
  ['defaults', 'zero rate', (o) => { o.rateLimit.requestsPerSecond = 0 }, /^rateLimit\.requestsPerSecond: must be a number above 0/],
  ['defaults', 'bad burst', (o) => { o.rateLimit.burst = 0.5 }, /^rateLimit\.burst: must be 1\.\./],
]

t.test('each bad field is rejected with a reason naming it', async (t) => {
  for (const [kind, what, mutate, reason] of BAD) {
    const o = clone(GOOD[kind])
    mutate(o)
    const r = parseRecord(kind, JSON.stringify(o))
    t.equal(r.ok, false, `${kind}: ${what} is rejected`)
    if (!r.ok) t.match(r.reason, reason, `${kind}: ${what} reason`)
  }
})

t.test('non-JSON and non-object input', async (t) => {
  const r = parseRecord('service', '{"name":')
  t.equal(r.ok, false)
  if (!r.ok) t.match(r.reason, /^not valid JSON/)
  for (const raw of ['null', '[]', '"web"', '3']) {
    const x = parseRecord('node', raw)
    t.equal(x.ok, false, raw)
    if (!x.ok) t.match(x.reason, /^node: must be an object/)
  }
})

t.test('mesh config', async (t) => {
  t.same(parseMeshConfig(undefined), { ok: true, value: DEFAULT_MESH_CONFIG })
  t.same(parseMeshConfig('{}'), { ok: true, value: DEFAULT_MESH_CONFIG })
  t.same(parseMeshConfig('{"vipCidr":"240.240.0.0/16","trustDomain":"corp.example","defaultDeny":true}'),
    { ok: true, value: { vipCidr: '240.240.0.0/16', trustDomain: 'corp.example', defaultDeny: true } })
  const bad: Array<[string, RegExp]> = [
    ['{"vipCidr":"10.0.0.0/7"}', /^vipCidr: .*\/8\.\.\/30, got \/7/],
    ['{"vipCidr":"10.0.0.0/31"}', /^vipCidr: .*got \/31/],
    ['{"vipCidr":"10.0.0.1/16"}', /^vipCidr: .*host bits set/],
    ['{"vipCidr":"fd00::/64"}', /^vipCidr: .*not an IPv4 CIDR/],
    ['{"trustDomain":"Bad Domain"}', /^trustDomain: must be a DNS name/],
    ['{"defaultDeny":"yes"}', /^defaultDeny: must be true or false/],
    ['not json', /^not valid JSON/],
  ]
  for (const [raw, re] of bad) {
    const r = parseMeshConfig(raw)
    t.equal(r.ok, false, raw)
    if (!r.ok) t.match(r.reason, re, raw)
  }
})
