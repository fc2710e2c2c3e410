import t from 'tap'
import { authorizeHttpRequest, authzLogFields, denialMessage } from '../../../agent/authz/authorize-http-request'
import { compilePolicies } from '../../../agent/authz/compile-policies'
import { parseSpiffeId } from '../../../agent/identity/spiffe'
import type { AuthorizationPolicy } from '../../../registry/records'

const api = parseSpiffeId('spiffe://nodemesh.local/ns/default/sa/api')
const conn = { source: api, sourceService: 'default/api', destination: 'default/web', port: 80 }
const policies = new Map<string, AuthorizationPolicy>([
  ['no-admin', { name: 'no-admin', target: 'default/web', action: 'DENY', from: {}, to: { paths: ['/admin', '/admin/*'] } }],
  ['api-reads', { name: 'api-reads', target: 'default/web', action: 'ALLOW', from: { services: ['default/api'] }, to: { methods: ['GET'] } }],
])
const compiled = compilePolicies(policies)
const mesh = { defaultDeny: false }

t.test('plans', async (t) => {
  t.same(authorizeHttpRequest(compiled, mesh, conn, { method: 'GET', target: '/a//b?x=1' }),
    { kind: 'allow', path: '/a/b', decision: { allow: true, policy: 'api-reads', reason: 'ALLOW policy api-reads matched' } })
  t.same(authorizeHttpRequest(compiled, mesh, conn, { method: 'GET', target: '/x/..%2Fadmin%2Fusers' }), {
    kind: 'deny', status: 403, message: 'access denied by policy no-admin',
    decision: { allow: false, policy: 'no-admin', reason: 'DENY policy no-admin matched' },
  })
  t.same(authorizeHttpRequest(compiled, mesh, conn, { method: 'POST', target: '/a' }), {
    kind: 'deny', status: 403, message: 'access denied: no ALLOW policy matched',
    decision: { allow: false, policy: '', reason: 'no ALLOW policy matched' },
  })
  const bad = authorizeHttpRequest(compiled, mesh, conn, { method: 'GET', target: '/admin%00' })
  t.equal(bad.kind, 'bad-path')
  if (bad.kind === 'bad-path') {
    t.equal(bad.status, 400)
    t.match(bad.message, /encoded NUL/)
  }
  t.equal(authorizeHttpRequest(compilePolicies(new Map()), { defaultDeny: true }, conn, { method: 'GET', target: '/' }).kind, 'deny')
})

t.test('messages and log fields', async (t) => {
  t.equal(denialMessage({ allow: false, policy: '', reason: 'mesh default deny' }), 'access denied: mesh default deny')
  t.same(authzLogFields({ allow: false, policy: 'p', reason: 'DENY policy p matched' }), { authz: 'deny', authz_policy: 'p', authz_reason: 'DENY policy p matched' })
  t.same(authzLogFields({ allow: true, policy: '', reason: 'no policy applies' }), { authz: 'allow', authz_policy: '', authz_reason: 'no policy applies' })
})
