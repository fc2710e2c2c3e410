import t from 'tap'
import { buildPolicy, derivePolicyName, parseIdentityFlag, parsePathFlag, type PolicyFlags } from '../../cli/parse-policy-flags'
import { renderPolicies } from '../../cli/format-policies'
import { parseRecord } from '../../registry/validate-record'

const flags = (over: Partial<PolicyFlags>): PolicyFlags => ({ from: [], fromNamespace: [], fromIdentity: [], port: [], method: [], path: [], ...over })

t.test('flags to a record', async (t) => {
  const p = buildPolicy('ALLOW', flags({
    to: 'web', from: ['api', 'cart.shop', 'api'], fromNamespace: ['ops'], fromIdentity: ['spiffe://nodemesh.local/ns/x/sa/y'],
    port: ['8080', '80'], method: ['post', 'GET'], path: ['/api/*', '*.png', '/health'],
  }))
  t.same({ ...p, name: undefined }, {
    name: undefined, target: 'default/web', action: 'ALLOW',
    from: { identities: ['spiffe://nodemesh.local/ns/x/sa/y'], namespaces: ['ops'], services: ['default/api', 'shop/cart'] },
    to: { ports: [80, 8080], methods: ['GET', 'POST'], paths: ['*.png', '/api/*', '/health'] },
  }, 'sorted, deduplicated, methods upper-cased, services as keys')
  t.match(p.name, /^allow-web-from-api-[0-9a-f]{6}$/)
  const stored = parseRecord('policy', JSON.stringify(p))
  t.ok(stored.ok, 'the registry accepts what the CLI builds')
  if (stored.ok) t.same(stored.value, p)

  const bare = buildPolicy('DENY', flags({ to: '*' }))
  t.same({ ...bare, name: '' }, { name: '', target: '*', action: 'DENY', from: {}, to: {} }, 'no fields: matches everything')
  t.match(bare.name, /^deny-all-[0-9a-f]{6}$/)
  t.equal(buildPolicy('ALLOW', flags({ to: 'web', name: 'mine' })).name, 'mine')
  t.match(buildPolicy('ALLOW', flags({ to: 'db.shop', fromNamespace: ['*'] })).name, /^allow-db-shop-from-ns-any-[0-9a-f]{6}$/)
  t.same(buildPolicy('ALLOW', flags({ to: 'web', fromIdentity: ['spiffe://td/node/n1'] })).from.identities, ['spiffe://td/node/n1'], 'a node identity can be named')
  t.match(buildPolicy('ALLOW', flags({ to: 'shop/db', fromIdentity: ['spiffe://td/ns/a/sa/Worker_1'] })).name, /^allow-db-shop-from-worker-1-[0-9a-f]{6}$/)
})

t.test('derived names: stable for the same rule, different for different rules, always DNS labels', async (t) => {
  const a = buildPolicy('ALLOW', flags({ to: 'web', from: ['api', 'b'], port: ['80', '443'] }))
  const b = buildPolicy('ALLOW', flags({ to: 'web.default', from: ['b', 'api'], port: ['443', '80', '80'] }))
  t.equal(a.name, b.name, 'order and spelling of the same rule do not matter')
  const variants = [
    buildPolicy('DENY', flags({ to: 'web', from: ['api', 'b'], port: ['80', '443'] })),
    buildPolicy('ALLOW', flags({ to: 'web', from: ['api', 'b'], port: ['80'] })),
    buildPolicy('ALLOW', flags({ to: 'web', from: ['api'], port: ['80', '443'] })),
    buildPolicy('ALLOW', flags({ to: 'web', from: ['api', 'b'], port: ['80', '443'], method: ['GET'] })),
    buildPolicy('ALLOW', flags({ to: 'web-x', from: ['api', 'b'], port: ['80', '443'] })),
  ]
  t.equal(new Set([a.name, ...variants.map((v) => v.name)]).size, 6, 'every different rule gets its own name')
  const long = derivePolicyName({ target: `default/${'w'.repeat(63)}`, action: 'ALLOW', from: { services: [`default/${'a'.repeat(63)}`] }, to: {} })
  t.ok(long.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long), `long names are cut to a label: ${long}`)
})

t.test('bad arguments', async (t) => {
  const cases: Array<[Partial<PolicyFlags>, RegExp]> = [
    [{}, /needs --to SERVICE/],
    [{ to: 'Web' }, /service name "Web" must be a DNS label/],
    [{ to: 'web', from: ['a/b/c'] }, /must be a DNS label/],
    [{ to: 'web', fromNamespace: ['Shop'] }, /--from-namespace "Shop"/],
    [{ to: 'web', fromIdentity: ['web'] }, /--from-identity "web" must be spiffe:\/\//],
    [{ to: 'web', fromIdentity: ['spiffe://td/ns/a'] }, /--from-identity/],
    [{ to: 'web', fromIdentity: ['*a*'] }, /--from-identity/],
    [{ to: 'web', fromIdentity: ['x*'] }, /--from-identity/],
    [{ to: 'web', port: ['0'] }, /--port "0" must be a whole number 1\.\.65535/],
    [{ to: 'web', port: ['65536'] }, /--port/],
    [{ to: 'web', port: ['http'] }, /--port/],
    [{ to: 'web', method: ['GET /'] }, /--method "GET \/"/],
    [{ to: 'web', method: ['1GET'] }, /--method/],
    [{ to: 'web', method: [''] }, /--method/],
    [{ to: 'web', path: ['admin'] }, /--path "admin" must be an exact path/],
    [{ to: 'web', path: ['/a*b'] }, /--path/],
    [{ to: 'web', path: ['**'] }, /--path/],
    [{ to: 'web', path: ['/a//b'] }, /would never match.*write it as "\/a\/b"/],
    [{ to: 'web', path: ['/a/../b/*'] }, /write it as "\/b\/\*"/],
    [{ to: 'web', path: ['/a?x'] }, /write it as "\/a"/],
    [{ to: 'web', path: ['/caf%c3%a9'] }, /write it as "\/caf%C3%A9"/],
    [{ to: 'web', path: ['*//x.png'] }, /write it as "\*\/x\.png"/],
    [{ to: 'web', path: ['/a b'] }, /--path "\/a b": holds a control character or space/],
    [{ to: 'web', path: ['/a%zz'] }, /invalid percent-encoding/],
    [{ to: 'web', name: 'Bad_Name' }, /--name "Bad_Name"/],
  ]
  for (const [f, want] of cases) t.throws(() => buildPolicy('ALLOW', flags(f)), { code: 'NM_BAD_ARGUMENT', message: want }, JSON.stringify(f))
})

t.test('identity and path forms accepted', async (t) => {
  for (const id of ['*', 'spiffe://td/ns/a/sa/b', 'spiffe://td/ns/a/*', 'spiffe://*', '*/sa/web']) t.equal(parseIdentityFlag(id), id)
  for (const p of ['*', '/', '/*', '/api/*', '/api*', '*.png', '/health', '/a/b.c', '/~user']) t.equal(parsePathFlag(p), p)
})

t.test('policies rendered', async (t) => {
  const p = buildPolicy('DENY', flags({ to: 'web', fromNamespace: ['legacy'], method: ['DELETE'], path: ['/api/*'], name: 'no-legacy-deletes' }))
  const open = buildPolicy('ALLOW', flags({ to: '*', name: 'open' }))
  const table = renderPolicies([p, open], 'table')
  t.equal(table, [
    'NAME               ACTION  TARGET       FROM               TO',
    'no-legacy-deletes  DENY    default/web  namespaces=legacy  methods=DELETE paths=/api/*',
    'open               ALLOW   *            *                  *',
    '',
  ].join('\n'))
  t.same(JSON.parse(renderPolicies([p], 'json')), [{ name: 'no-legacy-deletes', target: 'default/web', action: 'DENY', from: { namespaces: ['legacy'] }, to: { methods: ['DELETE'], paths: ['/api/*'] } }])
  t.match(renderPolicies([p], 'yaml'), /^- name: no-legacy-deletes\n {2}target: default\/web\n {2}action: DENY\n/)
  t.equal(renderPolicies([], 'table'), 'NAME  ACTION  TARGET  FROM  TO\n')
  t.equal(renderPolicies([], 'json'), '[]\n')
})
