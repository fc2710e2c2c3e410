import t from 'tap'
import { attributeSource } from '../../../agent/identity/attribute-source'
import type { RoutingTable } from '../../../agent/routing/routing-table'

const table = {
  trustDomain: 'td',
  localSources: new Map<string, unknown>([
    ['10.0.0.1', { identity: 'spiffe://td/ns/default/sa/web', service: 'default/web' }],
    ['10.0.0.2', 'ambiguous'],
    ['10.0.0.3', { identity: 'spiffe://td/ns/default/sa/shared' }],
    ['fd00::1', { identity: 'spiffe://td/ns/prod/sa/api', service: 'prod/api' }],
  ]),
} as unknown as RoutingTable
const NODE = 'spiffe://td/node/n1'

t.test('attribution is conservative', async (t) => {
  const cases: Array<[string | undefined, string, string | undefined, boolean]> = [
    ['10.0.0.1', 'spiffe://td/ns/default/sa/web', 'default/web', true],
    ['::ffff:10.0.0.1', 'spiffe://td/ns/default/sa/web', 'default/web', true],
    ['fd00::1', 'spiffe://td/ns/prod/sa/api', 'prod/api', true],
    ['10.0.0.3', 'spiffe://td/ns/default/sa/shared', undefined, true],
    ['10.0.0.2', NODE, undefined, false],
    ['10.0.0.9', NODE, undefined, false],
    ['127.0.0.1', NODE, undefined, false],
    ['127.5.5.5', NODE, undefined, false],
    ['::1', NODE, undefined, false],
    ['::ffff:127.0.0.1', NODE, undefined, false],
    [undefined, NODE, undefined, false],
    ['not-an-ip', NODE, undefined, false],
  ]
  for (const [address, identity, service, attributed] of cases) {
    const got = attributeSource(table, 'n1', address)
    t.equal(got.identity, identity, `${address} -> ${identity}`)
    t.equal(got.service, service, `${address} service`)
    t.equal(got.attributed, attributed, `${address} attributed`)
    t.type(got.reason, 'string')
  }
})

t.test('loopback is never attributed, even when an endpoint is registered on it', async (t) => {
  const withLoopback = { ...table, localSources: new Map([['127.0.0.1', { identity: 'spiffe://td/ns/default/sa/web', service: 'default/web' }]]) } as unknown as RoutingTable
  t.equal(attributeSource(withLoopback, 'n1', '127.0.0.1').identity, NODE)
})
