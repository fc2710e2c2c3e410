import t from 'tap'
import { parseHostPort, planInbound, type InboundInput } from '../../../agent/tunnel/plan-inbound'
import { tunnelTable } from './table-fixture'

const table = tunnelTable([
  { service: 'db', port: 5432, endpoints: [{ node: 'node-a', address: '10.0.0.5', port: 15432 }, { node: 'node-b', address: '10.0.0.6', port: 15432 }] },
  { service: 'db-admin', port: 9000, endpoints: [{ node: 'node-a', address: '10.0.0.5', port: 15432 }] },
  { service: 'v6', port: 80, endpoints: [{ node: 'node-a', address: 'fd00::5', port: 8080 }] },
  { service: 'v6-long', port: 81, endpoints: [{ node: 'node-a', address: 'fd00:0:0:0:0:0:0:7', port: 8081 }] },
  { service: 'remote', port: 6379, endpoints: [{ node: 'node-b', address: '10.0.0.6', port: 6379 }] },
  { service: 'agent-ish', port: 15000, endpoints: [{ node: 'node-a', address: '10.0.0.5', port: 15000 }] },
])
const base: InboundInput = {
  table, localNode: 'node-a', tunnelAddress: '10.0.0.5:15008', agentPorts: [15000, 15001, 15008, 15020, 15021, 15053, 15080],
  method: 'CONNECT', authority: '10.0.0.5:15432',
}

t.test('delivers to workloads registered on this node, at the registered address', async (t) => {
  const cases: [string, string, string, number, string[]][] = [
    ['IPv4, two service ports on one target', '10.0.0.5:15432', '10.0.0.5', 15432, ['default/db', 'default/db-admin']],
    ['IPv6 as compiled', '[fd00::5]:8080', 'fd00::5', 8080, ['default/v6']],
    ['IPv6 written longer than registered', '[FD00:0::5]:8080', 'fd00::5', 8080, ['default/v6']],
    ['IPv6 registered uncompressed', '[fd00:0:0:0:0:0:0:7]:8081', 'fd00:0:0:0:0:0:0:7', 8081, ['default/v6-long']],
  ]
  for (const [name, authority, host, port, services] of cases) {
    const p = planInbound({ ...base, authority })
    t.equal(p.kind, 'deliver', name)
    if (p.kind !== 'deliver') continue
    t.same(p.target, { host, port }, `${name}: target`)
    t.same(p.bindings.map((b) => b.port.service), services, `${name}: bindings`)
    t.ok(p.bindings.every((b) => b.endpoint.node === 'node-a'), `${name}: only this node's bindings`)
  }
})

t.test('refuses with a status and a code', async (t) => {
  const cases: [string, Partial<InboundInput>, number, string][] = [
    ['GET', { method: 'GET' }, 405, 'NM_TUNNEL_METHOD'],
    ['lowercase connect', { method: 'connect' }, 405, 'NM_TUNNEL_METHOD'],
    ['no authority', { authority: undefined }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['a name', { authority: 'db.mesh:5432' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['localhost', { authority: 'localhost:15432' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['no port', { authority: '10.0.0.5' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['port 0', { authority: '10.0.0.5:0' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['port too large', { authority: '10.0.0.5:65536' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['leading zero port', { authority: '10.0.0.5:015432' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['bad IPv4', { authority: '10.0.0.256:15432' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['IPv6 without brackets', { authority: 'fd00::5:8080' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['IPv6 zone', { authority: '[fe80::1%eth0]:8080' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['userinfo', { authority: 'x@10.0.0.5:15432' }, 400, 'NM_TUNNEL_BAD_AUTHORITY'],
    ['our own tunnel address', { authority: '10.0.0.5:15008' }, 403, 'NM_TUNNEL_LOOP'],
    ['loop on a wildcard listener', { tunnelAddress: '0.0.0.0:15008', authority: '10.0.0.9:15008' }, 403, 'NM_TUNNEL_LOOP'],
    ['loop on an IPv6 listener', { tunnelAddress: '[fd00::5]:15008', authority: '[fd00:0::5]:15008' }, 403, 'NM_TUNNEL_LOOP'],
    ['the admin port, even when registered', { authority: '10.0.0.5:15000' }, 403, 'NM_TUNNEL_AGENT_PORT'],
    ['the tunnel port on another address', { authority: '127.0.0.1:15008' }, 403, 'NM_TUNNEL_AGENT_PORT'],
    ['DNS port', { authority: '127.0.0.1:15053' }, 403, 'NM_TUNNEL_AGENT_PORT'],
    ['a workload on another node', { authority: '10.0.0.6:6379' }, 403, 'NM_TUNNEL_NOT_LOCAL'],
    ['a target on both nodes, asked of the other', { localNode: 'node-b', authority: '10.0.0.5:15432' }, 403, 'NM_TUNNEL_NOT_LOCAL'],
    ['an unregistered address', { authority: '192.168.1.1:22' }, 403, 'NM_TUNNEL_NOT_LOCAL'],
    ['a registered address, unregistered port', { authority: '10.0.0.5:22' }, 403, 'NM_TUNNEL_NOT_LOCAL'],
    ['loopback', { authority: '127.0.0.1:15432' }, 403, 'NM_TUNNEL_NOT_LOCAL'],
  ]
  for (const [name, over, status, code] of cases) {
    const p = planInbound({ ...base, ...over })
    t.same(p.kind === 'reject' ? [p.status, p.code] : p.kind, [status, code], name)
    if (p.kind === 'reject') t.ok(p.reason.length > 0, `${name}: says why`)
  }
})

t.test('the not-local reason names where the target lives', async (t) => {
  const p = planInbound({ ...base, authority: '10.0.0.6:6379' })
  t.match(p.kind === 'reject' ? p.reason : '', /registered on node node-b, not node-a/)
})

t.test('host:port parsing', async (t) => {
  t.same(parseHostPort('1.2.3.4:5'), { host: '1.2.3.4', port: 5, key: '1.2.3.4:5', raw: '1.2.3.4:5' })
  t.same(parseHostPort('[::1]:80'), { host: '::1', port: 80, key: '[::1]:80', raw: '[::1]:80' })
  t.equal(parseHostPort('[::1]'), undefined)
  t.equal(parseHostPort(':80'), undefined)
  t.equal(parseHostPort('1.2.3.4:5 '), undefined)
})
