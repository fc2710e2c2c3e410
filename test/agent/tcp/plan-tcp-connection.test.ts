import t from 'tap'
import { planTcpConnection } from '../../../agent/tcp/plan-tcp-connection'
import { buildTable } from '../http/routing-table-fixture'

const table = buildTable([
  { name: 'db', vip: '127.77.0.9', ports: [{ port: 5432, protocol: 'tcp', endpoints: [{ port: 1 }, { port: 2 }] }] },
  { name: 'gone', vip: '127.77.0.10', ports: [{ port: 5432, protocol: 'tcp', endpoints: [] }] },
])

t.test('plans', async (t) => {
  const cases: [string, string, ReadonlySet<string> | undefined, string, number | string][] = [
    ['picks the idle endpoint', '127.77.0.9:5432', undefined, 'connect', 2],
    ['skips excluded', '127.77.0.9:5432', new Set(['127.0.0.1:2']), 'connect', 1],
    ['all excluded', '127.77.0.9:5432', new Set(['127.0.0.1:1', '127.0.0.1:2']), 'reset', 'NM_NO_HEALTHY_ENDPOINT'],
    ['no endpoints', '127.77.0.10:5432', undefined, 'reset', 'NM_NO_HEALTHY_ENDPOINT'],
    ['unknown VIP', '127.77.0.99:5432', undefined, 'reset', 'NM_UNKNOWN_SERVICE'],
  ]
  for (const [name, vipPort, exclude, kind, want] of cases) {
    const p = planTcpConnection(table, vipPort, (target) => (target.endsWith(':1') ? 3 : 0), () => 0.3, exclude)
    t.equal(p.kind, kind, name)
    t.equal(p.kind === 'connect' ? p.endpoint.port : p.code, want, `${name}: ${want}`)
  }
})
