import t from 'tap'
import { diffListeners, planAccept } from '../../../agent/listeners/plan-listeners'
import type { CompiledPort, ListenerSpec, RoutingTable } from '../../../agent/routing/routing-table'

const spec = (key: string): ListenerSpec => {
  const [vip, port] = key.split(':') as [string, string]
  return { key, vip, port: Number(port), protocol: 'http', service: 'default/web' }
}

t.test('diffListeners opens what is new, closes what is gone, keeps the rest', async (t) => {
  const cases: Array<[string[], string[], string[], string[]]> = [
    [[], ['127.77.0.1:80'], ['127.77.0.1:80'], []],
    [['127.77.0.1:80'], ['127.77.0.1:80'], [], []],
    [['127.77.0.1:80', '127.77.0.2:80'], ['127.77.0.2:80', '127.77.0.3:80'], ['127.77.0.3:80'], ['127.77.0.1:80']],
    [['127.77.0.2:80', '127.77.0.1:80'], [], [], ['127.77.0.1:80', '127.77.0.2:80']],
  ]
  for (const [current, desired, open, close] of cases) {
    const diff = diffListeners(new Set(current), desired.map(spec))
    t.same(diff.open.map((s) => s.key), open, `open for ${current} -> ${desired}`)
    t.same(diff.close, close, `close for ${current} -> ${desired}`)
  }
})

t.test('planAccept reads the protocol from the table, refuses unknown VIP:ports', async (t) => {
  const port = (protocol: CompiledPort['protocol']): CompiledPort => ({
    service: 'default/web', serviceName: 'web', namespace: 'default', vip: '127.77.0.1', name: 'p', port: 80, protocol, endpoints: [],
  })
  const table: RoutingTable = {
    revision: 1, dnsDomain: 'mesh', services: new Map(), byDnsName: new Map(), listeners: [], byTarget: new Map(),
    byVipPort: new Map([['127.77.0.1:80', port('http')], ['127.77.0.1:90', port('tcp')], ['127.77.0.1:91', port('grpc')]]),
  }
  t.same(planAccept(table, '127.77.0.1:80'), { kind: 'http', vipPort: '127.77.0.1:80' })
  t.same(planAccept(table, '127.77.0.1:90'), { kind: 'tcp', vipPort: '127.77.0.1:90' })
  t.same(planAccept(table, '127.77.0.1:91'), { kind: 'http', vipPort: '127.77.0.1:91' }, 'HTTP kinds all go to the L7 proxy')
  t.match(planAccept(table, '127.77.0.9:80'), { kind: 'refuse' })
})
