import t from 'tap'
import { compileMatcher, compilePolicies, matches, parsePattern, policiesFor } from '../../../agent/authz/compile-policies'
import type { AuthorizationPolicy } from '../../../registry/records'

const p = (name: string, target: string, action: 'ALLOW' | 'DENY', extra: Partial<AuthorizationPolicy> = {}): AuthorizationPolicy =>
  ({ name, target, action, from: {}, to: {}, ...extra })

t.test('patterns: Istio forms', async (t) => {
  const cases: Array<[string, ReturnType<typeof parsePattern>]> = [
    ['*', { kind: 'any' }],
    ['/api/*', { kind: 'prefix', value: '/api/' }],
    ['*.png', { kind: 'suffix', value: '.png' }],
    ['/exact', { kind: 'exact', value: '/exact' }],
    ['spiffe://td/ns/a/*', { kind: 'prefix', value: 'spiffe://td/ns/a/' }],
    ['*/sa/web', { kind: 'suffix', value: '/sa/web' }],
  ]
  for (const [s, want] of cases) t.same(parsePattern(s), want, s)

  const m = compileMatcher(['/a', '/b/*', '*.css'])
  const hits: Array<[string, boolean]> = [['/a', true], ['/a/', false], ['/b/', true], ['/b/c/d', true], ['/b', false], ['/x.css', true], ['/x.cs', false], ['/c', false]]
  for (const [v, want] of hits) t.equal(matches(m, v), want, v)
  t.equal(matches(compileMatcher(['*']), ''), true, '* matches even the empty string')
})

t.test('index: per target, mesh-wide merged in, sorted by name, split by action', async (t) => {
  const compiled = compilePolicies(new Map([
    ['z-web', p('z-web', 'default/web', 'ALLOW', { from: { services: ['default/api'] } })],
    ['a-web', p('a-web', 'default/web', 'ALLOW', { to: { ports: [80] } })],
    ['d-web', p('d-web', 'default/web', 'DENY', { to: { methods: ['DELETE'] } })],
    ['m-deny', p('m-deny', '*', 'DENY', { from: { namespaces: ['legacy'] } })],
    ['m-allow', p('m-allow', '*', 'ALLOW', { from: { namespaces: ['ops'] } })],
    ['db', p('db', 'shop/db', 'DENY')],
  ]))
  t.same([...compiled.byTarget.keys()].sort(), ['default/web', 'shop/db'], 'one entry per target that has policies')
  const web = policiesFor(compiled, 'default/web')
  t.same(web.allow.map((x) => x.name), ['a-web', 'm-allow', 'z-web'])
  t.same(web.deny.map((x) => x.name), ['d-web', 'm-deny'])
  const db = policiesFor(compiled, 'shop/db')
  t.same(db.allow.map((x) => x.name), ['m-allow'])
  t.same(db.deny.map((x) => x.name), ['db', 'm-deny'])
  const other = policiesFor(compiled, 'default/other')
  t.equal(other, compiled.meshWide, 'a destination without policies gets the mesh-wide set')
  t.same(other.deny.map((x) => x.name), ['m-deny'])

  const compiledWeb = web.allow.find((x) => x.name === 'z-web')!
  t.ok(compiledWeb.services?.has('default/api'))
  t.equal(compiledWeb.ports, undefined, 'absent fields stay absent (match anything)')
  t.ok(web.allow.find((x) => x.name === 'a-web')!.ports?.has(80))
})

t.test('no policies: empty sets', async (t) => {
  const compiled = compilePolicies(new Map())
  t.same(policiesFor(compiled, 'default/web'), { deny: [], allow: [] })
  t.equal(compiled.byTarget.size, 0)
})
