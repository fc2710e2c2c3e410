import t from 'tap'
import { parseRecord } from '../../registry/validate-record'

const withPaths = (paths: string[]) => parseRecord('policy', JSON.stringify({ name: 'p', target: 'default/web', action: 'DENY', to: { paths } }))

t.test('policy paths take Istio\'s forms', async (t) => {
  for (const ok of ['/admin', '/api/*', '/*', '*.png', '*', '/a/b.c', '*/x']) {
    const r = withPaths([ok])
    t.ok(r.ok, ok)
    if (r.ok) t.same(r.value.to.paths, [ok])
  }
  for (const bad of ['admin', 'api/*', '/a*b', '*a*', '**', '/a b', '/a\tb', '/a\u0000', '/api/**', '']) {
    const r = withPaths([bad])
    t.notOk(r.ok, JSON.stringify(bad))
    if (!r.ok) t.match(r.reason, /^to\.paths\[0\]: must/, JSON.stringify(bad))
  }
})
