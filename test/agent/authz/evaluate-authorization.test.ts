import t from 'tap'
import { compilePolicies } from '../../../agent/authz/compile-policies'
import { evaluateAuthorization, type AuthzRequest } from '../../../agent/authz/evaluate-authorization'
import { normalizeRequestPath } from '../../../agent/authz/normalize-path'
import { parseSpiffeId, type SpiffeId } from '../../../agent/identity/spiffe'
import type { AuthorizationPolicy } from '../../../registry/records'

const id = (uri: string): SpiffeId => {
  const parsed = parseSpiffeId(uri)
  if (!parsed) throw new Error(`bad test identity ${uri}`)
  return parsed
}
const API = id('spiffe://nodemesh.local/ns/default/sa/api')
const SHOP = id('spiffe://nodemesh.local/ns/shop/sa/cart')
const LEGACY = id('spiffe://nodemesh.local/ns/legacy/sa/old')
const OTHER_TD = id('spiffe://example.org/ns/default/sa/api')
const NODE = id('spiffe://nodemesh.local/node/vm-1')

type P = Partial<AuthorizationPolicy> & { name: string }
const policy = (p: P): AuthorizationPolicy => ({ target: 'default/web', action: 'ALLOW', from: {}, to: {}, ...p })
const policies = (...ps: P[]) => new Map(ps.map((p) => [p.name, policy(p)] as const))

/** A request to default/web:80 from api, over TCP unless `http` is given. */
const req = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({ source: API, sourceService: 'default/api', destination: 'default/web', port: 80, ...over })
const get = (path: string, method = 'GET') => ({ http: { method, path } })

interface Row {
  readonly name: string
  readonly policies: ReadonlyMap<string, AuthorizationPolicy>
  readonly req: AuthzRequest
  readonly defaultDeny?: boolean
  readonly want: { allow: boolean; policy: string; reason?: RegExp }
}

const rows: Row[] = [
  // no policies
  { name: 'no policy: allowed', policies: policies(), req: req(), want: { allow: true, policy: '', reason: /no policy applies/ } },
  { name: 'no policy, default deny: denied', policies: policies(), req: req(), defaultDeny: true, want: { allow: false, policy: '', reason: /^mesh default deny$/ } },
  { name: 'unauthenticated, no policy: allowed', policies: policies(), req: req({ source: undefined, sourceService: undefined }), want: { allow: true, policy: '' } },
  { name: 'policy of another service does not apply', policies: policies({ name: 'a', target: 'default/db', from: { services: ['default/x'] } }), req: req(), want: { allow: true, policy: '' } },
  { name: 'policy of another service, default deny: denied', policies: policies({ name: 'a', target: 'default/db' }), req: req(), defaultDeny: true, want: { allow: false, policy: '', reason: /mesh default deny/ } },

  // ALLOW by service, namespace, identity
  { name: 'allow from service: match', policies: policies({ name: 'a', from: { services: ['default/api'] } }), req: req(), want: { allow: true, policy: 'a', reason: /ALLOW policy a matched/ } },
  { name: 'allow from service: other service denied', policies: policies({ name: 'a', from: { services: ['default/other'] } }), req: req(), want: { allow: false, policy: '', reason: /^no ALLOW policy matched$/ } },
  { name: 'allow from service: same name other namespace denied', policies: policies({ name: 'a', from: { services: ['shop/api'] } }), req: req(), want: { allow: false, policy: '' } },
  { name: 'allow from service: unattributed source denied', policies: policies({ name: 'a', from: { services: ['default/api'] } }), req: req({ sourceService: undefined }), want: { allow: false, policy: '' } },
  { name: 'allow from services list: OR', policies: policies({ name: 'a', from: { services: ['default/x', 'default/api'] } }), req: req(), want: { allow: true, policy: 'a' } },
  { name: 'allow from namespace: match', policies: policies({ name: 'a', from: { namespaces: ['shop'] } }), req: req({ source: SHOP, sourceService: 'shop/cart' }), want: { allow: true, policy: 'a' } },
  { name: 'allow from namespace: other namespace denied', policies: policies({ name: 'a', from: { namespaces: ['shop'] } }), req: req(), want: { allow: false, policy: '' } },
  { name: 'allow from namespace *: any workload', policies: policies({ name: 'a', from: { namespaces: ['*'] } }), req: req({ source: LEGACY }), want: { allow: true, policy: 'a' } },
  { name: 'allow from namespace: needs no attributed service', policies: policies({ name: 'a', from: { namespaces: ['default'] } }), req: req({ sourceService: undefined }), want: { allow: true, policy: 'a' } },
  { name: 'allow from identity: exact', policies: policies({ name: 'a', from: { identities: [API.uri] } }), req: req(), want: { allow: true, policy: 'a' } },
  { name: 'allow from identity: other trust domain denied', policies: policies({ name: 'a', from: { identities: [API.uri] } }), req: req({ source: OTHER_TD }), want: { allow: false, policy: '' } },
  { name: 'allow from identity: prefix pattern', policies: policies({ name: 'a', from: { identities: ['spiffe://nodemesh.local/ns/shop/*'] } }), req: req({ source: SHOP }), want: { allow: true, policy: 'a' } },
  { name: 'allow from identity: prefix pattern misses', policies: policies({ name: 'a', from: { identities: ['spiffe://nodemesh.local/ns/shop/*'] } }), req: req(), want: { allow: false, policy: '' } },
  { name: 'allow from identity: suffix pattern', policies: policies({ name: 'a', from: { identities: ['*/sa/api'] } }), req: req({ source: OTHER_TD }), want: { allow: true, policy: 'a' } },
  { name: 'allow from identity *: any workload', policies: policies({ name: 'a', from: { identities: ['*'] } }), req: req({ source: LEGACY }), want: { allow: true, policy: 'a' } },
  { name: 'from fields AND: namespace and service both match', policies: policies({ name: 'a', from: { namespaces: ['default'], services: ['default/api'] } }), req: req(), want: { allow: true, policy: 'a' } },
  { name: 'from fields AND: namespace matches, service does not', policies: policies({ name: 'a', from: { namespaces: ['default'], services: ['default/x'] } }), req: req(), want: { allow: false, policy: '' } },
  { name: 'from fields AND: identity matches, namespace does not', policies: policies({ name: 'a', from: { identities: [API.uri], namespaces: ['shop'] } }), req: req(), want: { allow: false, policy: '' } },

  // node identities and unauthenticated peers
  { name: 'node identity: any verified identity (*) includes it', policies: policies({ name: 'a', from: { identities: ['*'] } }), req: req({ source: NODE, sourceService: undefined }), want: { allow: true, policy: 'a' } },
  { name: 'node identity: named exactly', policies: policies({ name: 'a', from: { identities: ['spiffe://nodemesh.local/node/vm-1'] } }), req: req({ source: NODE, sourceService: undefined }), want: { allow: true, policy: 'a' } },
  { name: 'node identity: another node is not it', policies: policies({ name: 'a', from: { identities: ['spiffe://nodemesh.local/node/vm-2'] } }), req: req({ source: NODE, sourceService: undefined }), want: { allow: false, policy: '' } },
  { name: 'node identity: a workload prefix does not match it', policies: policies({ name: 'a', from: { identities: ['spiffe://nodemesh.local/ns/*'] } }), req: req({ source: NODE, sourceService: undefined }), want: { allow: false, policy: '' } },
  { name: 'node identity: identity plus namespace cannot match a node', policies: policies({ name: 'a', from: { identities: ['*'], namespaces: ['default'] } }), req: req({ source: NODE, sourceService: undefined }), want: { allow: false, policy: '' } },
  { name: 'node identity: namespace * does not match', policies: policies({ name: 'a', from: { namespaces: ['*'] } }), req: req({ source: NODE }), want: { allow: false, policy: '' } },
  { name: 'node identity: a service claimed for it does not match', policies: policies({ name: 'a', from: { services: ['default/api'] } }), req: req({ source: NODE }), want: { allow: false, policy: '' } },
  { name: 'node identity: a policy without from matches', policies: policies({ name: 'a', to: { ports: [80] } }), req: req({ source: NODE }), want: { allow: true, policy: 'a' } },
  { name: 'unauthenticated: identities * does not match', policies: policies({ name: 'a', from: { identities: ['*'] } }), req: req({ source: undefined }), want: { allow: false, policy: '' } },
  { name: 'unauthenticated: a policy without from matches', policies: policies({ name: 'a' }), req: req({ source: undefined, sourceService: undefined }), want: { allow: true, policy: 'a' } },
  { name: 'unauthenticated: deny from namespace * does not catch it', policies: policies({ name: 'd', action: 'DENY', from: { namespaces: ['*'] } }), req: req({ source: undefined }), want: { allow: true, policy: '' } },

  // DENY and precedence
  { name: 'deny from service: match', policies: policies({ name: 'd', action: 'DENY', from: { services: ['default/api'] } }), req: req(), want: { allow: false, policy: 'd', reason: /DENY policy d matched/ } },
  { name: 'deny from service: other allowed (no ALLOW policy)', policies: policies({ name: 'd', action: 'DENY', from: { services: ['default/x'] } }), req: req(), want: { allow: true, policy: '' } },
  { name: 'deny only, default deny: still denied by default', policies: policies({ name: 'd', action: 'DENY', from: { services: ['default/x'] } }), req: req(), defaultDeny: true, want: { allow: false, policy: '', reason: /mesh default deny/ } },
  { name: 'deny wins over allow', policies: policies({ name: 'a', from: { services: ['default/api'] } }, { name: 'z', action: 'DENY', from: { namespaces: ['default'] } }), req: req(), want: { allow: false, policy: 'z' } },
  { name: 'allow when the deny does not match', policies: policies({ name: 'a', from: { services: ['default/api'] } }, { name: 'z', action: 'DENY', from: { namespaces: ['shop'] } }), req: req(), want: { allow: true, policy: 'a' } },
  { name: 'allow policy present overrides default deny', policies: policies({ name: 'a', from: { services: ['default/api'] } }), req: req(), defaultDeny: true, want: { allow: true, policy: 'a' } },
  { name: 'first matching allow by name is reported', policies: policies({ name: 'b-allow', from: { namespaces: ['default'] } }, { name: 'a-allow', from: { services: ['default/api'] } }), req: req(), want: { allow: true, policy: 'a-allow' } },
  { name: 'first matching deny by name is reported', policies: policies({ name: 'y', action: 'DENY' }, { name: 'x', action: 'DENY', to: { ports: [80] } }), req: req(), want: { allow: false, policy: 'x' } },

  // mesh-wide
  { name: 'mesh-wide deny applies to every service', policies: policies({ name: 'm', target: '*', action: 'DENY', from: { namespaces: ['legacy'] } }), req: req({ source: LEGACY, destination: 'shop/db' }), want: { allow: false, policy: 'm' } },
  { name: 'mesh-wide deny beats a service allow', policies: policies({ name: 'a', from: { namespaces: ['legacy'] } }, { name: 'm', target: '*', action: 'DENY', from: { namespaces: ['legacy'] } }), req: req({ source: LEGACY }), want: { allow: false, policy: 'm' } },
  { name: 'mesh-wide allow makes every service allow-listed', policies: policies({ name: 'm', target: '*', from: { namespaces: ['shop'] } }), req: req({ destination: 'shop/db' }), want: { allow: false, policy: '', reason: /no ALLOW policy matched/ } },
  { name: 'mesh-wide allow or a service allow', policies: policies({ name: 'm', target: '*', from: { namespaces: ['shop'] } }, { name: 'a', from: { services: ['default/api'] } }), req: req(), want: { allow: true, policy: 'a' } },
  { name: 'mesh-wide allow matched for a service with its own policies', policies: policies({ name: 'm', target: '*', from: { namespaces: ['default'] } }, { name: 'a', from: { services: ['default/x'] } }), req: req(), want: { allow: true, policy: 'm' } },

  // ports
  { name: 'allow on port: match', policies: policies({ name: 'a', to: { ports: [80, 443] } }), req: req(), want: { allow: true, policy: 'a' } },
  { name: 'allow on port: other port denied', policies: policies({ name: 'a', to: { ports: [443] } }), req: req(), want: { allow: false, policy: '' } },
  { name: 'deny on port: only that port', policies: policies({ name: 'd', action: 'DENY', to: { ports: [9000] } }), req: req(), want: { allow: true, policy: '' } },
  { name: 'deny on port: match', policies: policies({ name: 'd', action: 'DENY', to: { ports: [80] } }), req: req(), want: { allow: false, policy: 'd' } },
  { name: 'from and to AND', policies: policies({ name: 'a', from: { services: ['default/api'] }, to: { ports: [443] } }), req: req(), want: { allow: false, policy: '' } },

  // methods and paths over HTTP
  { name: 'allow GET: match', policies: policies({ name: 'a', to: { methods: ['GET', 'HEAD'] } }), req: req(get('/x')), want: { allow: true, policy: 'a' } },
  { name: 'allow GET: POST denied', policies: policies({ name: 'a', to: { methods: ['GET'] } }), req: req(get('/x', 'POST')), want: { allow: false, policy: '' } },
  { name: 'allow GET: lowercase method does not match', policies: policies({ name: 'a', to: { methods: ['GET'] } }), req: req(get('/x', 'get')), want: { allow: false, policy: '' } },
  { name: 'path exact: match', policies: policies({ name: 'a', to: { paths: ['/health'] } }), req: req(get('/health')), want: { allow: true, policy: 'a' } },
  { name: 'path exact: trailing slash is another path', policies: policies({ name: 'a', to: { paths: ['/health'] } }), req: req(get('/health/')), want: { allow: false, policy: '' } },
  { name: 'path prefix: match', policies: policies({ name: 'a', to: { paths: ['/api/*'] } }), req: req(get('/api/v1/x')), want: { allow: true, policy: 'a' } },
  { name: 'path prefix: the bare prefix dir matches', policies: policies({ name: 'a', to: { paths: ['/api/*'] } }), req: req(get('/api/')), want: { allow: true, policy: 'a' } },
  { name: 'path prefix: /api alone does not', policies: policies({ name: 'a', to: { paths: ['/api/*'] } }), req: req(get('/api')), want: { allow: false, policy: '' } },
  { name: 'path prefix: /apix does not', policies: policies({ name: 'a', to: { paths: ['/api/*'] } }), req: req(get('/apix')), want: { allow: false, policy: '' } },
  { name: 'path suffix: match', policies: policies({ name: 'a', to: { paths: ['*.png'] } }), req: req(get('/img/a.png')), want: { allow: true, policy: 'a' } },
  { name: 'path suffix: miss', policies: policies({ name: 'a', to: { paths: ['*.png'] } }), req: req(get('/img/a.png.exe')), want: { allow: false, policy: '' } },
  { name: 'path *: any path', policies: policies({ name: 'a', to: { paths: ['*'] } }), req: req(get('/anything')), want: { allow: true, policy: 'a' } },
  { name: 'method and path AND', policies: policies({ name: 'a', to: { methods: ['GET'], paths: ['/api/*'] } }), req: req(get('/api/x', 'DELETE')), want: { allow: false, policy: '' } },
  { name: 'deny DELETE on /api/*: match', policies: policies({ name: 'd', action: 'DENY', to: { methods: ['DELETE'], paths: ['/api/*'] } }), req: req(get('/api/x', 'DELETE')), want: { allow: false, policy: 'd' } },
  { name: 'deny DELETE on /api/*: GET passes', policies: policies({ name: 'd', action: 'DENY', to: { methods: ['DELETE'], paths: ['/api/*'] } }), req: req(get('/api/x')), want: { allow: true, policy: '' } },

  // TCP against HTTP-only rules
  { name: 'TCP: allow with methods cannot match', policies: policies({ name: 'a', to: { methods: ['GET'] } }), req: req(), want: { allow: false, policy: '', reason: /no ALLOW policy matched/ } },
  { name: 'TCP: allow with paths cannot match', policies: policies({ name: 'a', from: { services: ['default/api'] }, to: { paths: ['/x'] } }), req: req(), want: { allow: false, policy: '' } },
  { name: 'TCP: another allow still can', policies: policies({ name: 'a', to: { paths: ['/x'] } }, { name: 'b', to: { ports: [80] } }), req: req(), want: { allow: true, policy: 'b' } },
  { name: 'TCP: deny with paths matches on its other fields', policies: policies({ name: 'd', action: 'DENY', from: { services: ['default/api'] }, to: { paths: ['/admin'] } }), req: req(), want: { allow: false, policy: 'd' } },
  { name: 'TCP: deny with methods and another source does not match', policies: policies({ name: 'd', action: 'DENY', from: { services: ['default/x'] }, to: { methods: ['POST'] } }), req: req(), want: { allow: true, policy: '' } },
  { name: 'TCP: deny with paths on another port does not match', policies: policies({ name: 'd', action: 'DENY', to: { ports: [8080], paths: ['/admin'] } }), req: req(), want: { allow: true, policy: '' } },
]

t.test('decisions', async (t) => {
  for (const row of rows) {
    const got = evaluateAuthorization(compilePolicies(row.policies), { defaultDeny: row.defaultDeny ?? false }, row.req)
    t.equal(got.allow, row.want.allow, `${row.name}: allow`)
    t.equal(got.policy, row.want.policy, `${row.name}: policy`)
    if (row.want.reason) t.match(got.reason, row.want.reason, `${row.name}: reason`)
  }
})

t.test('path bypass attempts against a DENY on /admin and /admin/*', async (t) => {
  const deny = compilePolicies(policies({ name: 'no-admin', action: 'DENY', to: { paths: ['/admin', '/admin/*'] } }))
  const cases: Array<[string, boolean]> = [
    ['/admin', false], ['/admin/../admin', false], ['//admin', false], ['/admin#x', false], ['/admin?x', false],
    ['/admin%2Fx', false], ['/admin%2fx', false], ['/admin%5Cx', false], ['/admin\\x', false], ['/a/%2e%2e/admin', false],
    ['/./admin', false], ['/x/../../admin/y', false], ['/%61dmin', false], ['http://web.mesh//admin/x', false],
    ['/admin/', false], ['/a/..%2Fadmin', false],
    // not the same resource: allowed
    ['/Admin', true], ['/ADMIN/x', true], ['/admin%252Fx', true], ['/administrator', true], ['/public', true],
  ]
  for (const [raw, allow] of cases) {
    const n = normalizeRequestPath(raw)
    if (!n.ok) { t.fail(`${raw}: ${n.reason}`); continue }
    const got = evaluateAuthorization(deny, { defaultDeny: false }, req(get(n.path)))
    t.equal(got.allow, allow, `${raw} -> ${n.path}`)
    t.equal(got.policy, allow ? '' : 'no-admin', `${raw}: policy`)
  }
})

t.test('path bypass attempts against an ALLOW on /public/* only', async (t) => {
  const allow = compilePolicies(policies({ name: 'public', to: { paths: ['/public/*'] } }))
  const cases: Array<[string, boolean]> = [
    ['/public/a', true], ['//public//a', true], ['/public%2Fa', true], ['/x/../public/a', true],
    ['/public/../admin', false], ['/public/%2e%2e/admin', false], ['/public%2F..%2Fadmin', false], ['/public\\..\\admin', false],
    ['/public/..%5Cadmin', false], ['/public', false], ['/PUBLIC/a', false],
  ]
  for (const [raw, want] of cases) {
    const n = normalizeRequestPath(raw)
    if (!n.ok) { t.fail(`${raw}: ${n.reason}`); continue }
    t.equal(evaluateAuthorization(allow, { defaultDeny: false }, req(get(n.path))).allow, want, `${raw} -> ${n.path}`)
  }
})
