import path from 'node:path'
import t from 'tap'
import { AGENT_DEFAULTS } from '../../agent/agent-options'
import { buildAgentOptions } from '../../cli/build-agent-options'

const env = { NODEMESH_STATE_DIR: '/srv/nm' }

t.test('defaults fill every option', async (t) => {
  const o = buildAgentOptions({}, env, 'host-1')
  t.equal(o.node, 'host-1')
  t.equal(o.stateDir, '/srv/nm')
  t.equal(o.registry, 'file:/srv/nm/registry.json')
  t.equal(o.apiSocket, '/srv/nm/agent.sock')
  t.equal(o.dnsPort, AGENT_DEFAULTS.dnsPort)
  t.equal(o.leaseTtlMs, AGENT_DEFAULTS.leaseTtlMs)
  t.equal(o.logLevel, 'info')
  t.notOk('dnsUpstreams' in o, 'upstreams left to /etc/resolv.conf')
})

t.test('flags override the defaults', async (t) => {
  const o = buildAgentOptions({
    node: 'n1', redis: 'redis://10.0.0.1:6379', stateDir: 'rel/state', apiSocket: '/run/nm.sock',
    localAddress: '127.0.0.2', dnsPort: '5353', dnsDomain: 'corp.mesh', dnsUpstream: ['1.1.1.1:53', '[::1]:53'],
    httpProxyPort: '8080', adminPort: '9000', observeAddress: '127.0.0.1', metricsPort: '9100', readyPort: '9101',
    leaseTtl: '30', logLevel: 'debug', tunnelAddress: '10.0.0.7:16008', caDir: 'ca', capture: true, capturePort: '16001',
  }, env, 'host-1')
  t.same(o, {
    node: 'n1', registry: 'redis://10.0.0.1:6379', stateDir: path.resolve('rel/state'), apiSocket: '/run/nm.sock',
    localAddress: '127.0.0.2', dnsPort: 5353, dnsDomain: 'corp.mesh', dnsUpstreams: ['1.1.1.1:53', '[::1]:53'],
    httpProxyPort: 8080, adminPort: 9000, observeAddress: '127.0.0.1', metricsPort: 9100, readyPort: 9101,
    leaseTtlMs: 30_000, logLevel: 'debug', tunnelAddress: '10.0.0.7:16008', identity: { kind: 'ca-dir', caDir: path.resolve('ca') },
    capture: true, capturePort: 16001,
  })
})

t.test('tunnel address and identity source', async (t) => {
  t.equal(buildAgentOptions({}, env, 'h', '192.0.2.5').tunnelAddress, '192.0.2.5:15008', 'default: the primary address, port 15008')
  t.equal(buildAgentOptions({}, env, 'h', 'fd00::5').tunnelAddress, '[fd00::5]:15008')
  t.equal(buildAgentOptions({ tunnelAddress: '10.1.1.1' }, env, 'h').tunnelAddress, '10.1.1.1:15008')
  t.equal(buildAgentOptions({ tunnelAddress: '[fd00::1]:9' }, env, 'h').tunnelAddress, '[fd00::1]:9')
  t.throws(() => buildAgentOptions({ tunnelAddress: 'node.example:15008' }, env, 'h'), /--tunnel-address .*IP address/)
  t.same(buildAgentOptions({}, env, 'h').identity, { kind: 'saved' })
  t.same(buildAgentOptions({ nodeCredential: '/etc/nm/node', caAddress: 'ca.example:15012' }, env, 'h').identity,
    { kind: 'node-credential', dir: '/etc/nm/node', caAddress: 'ca.example:15012' })
  t.same(buildAgentOptions({ joinToken: 'tok', caAddress: '10.0.0.1:15012', caBundle: '/etc/nm/ca.crt' }, env, 'h').identity,
    { kind: 'join-token', token: 'tok', caAddress: '10.0.0.1:15012', caBundle: '/etc/nm/ca.crt' })
  t.throws(() => buildAgentOptions({ joinToken: 'tok', caAddress: '10.0.0.1:15012' }, env, 'h'), /--ca-bundle/)
  t.throws(() => buildAgentOptions({ nodeCredential: '/x' }, env, 'h'), /--ca-address/)
  t.throws(() => buildAgentOptions({ caDir: '/ca', joinToken: 't' }, env, 'h'), /one of --ca-dir/)
  t.equal(buildAgentOptions({ vipCidr: '240.240.0.0/16' }, env, 'h').vipCidr, '240.240.0.0/16')
  t.equal(buildAgentOptions({}, env, 'h').vipCidr, undefined, 'no expectation unless given')
  t.throws(() => buildAgentOptions({ vipCidr: '240.240.0.1/16' }, env, 'h'), /--vip-cidr "240\.240\.0\.1\/16"/)
})

t.test('registry choice', async (t) => {
  t.equal(buildAgentOptions({ registry: 'file:/tmp/r.json' }, env, 'h').registry, 'file:/tmp/r.json')
  t.equal(buildAgentOptions({ redis: 'redis://r:6379', redisFromEnv: true, registry: 'file:/tmp/r.json' }, env, 'h').registry,
    'file:/tmp/r.json', 'an explicit --registry beats NODEMESH_REDIS_URL')
  t.throws(() => buildAgentOptions({ redis: 'redis://r:6379', registry: 'file:/tmp/r.json' }, env, 'h'), /not both/)
  t.throws(() => buildAgentOptions({ registry: 'r.json' }, env, 'h'), /must be file:PATH/)
})

t.test('bad values are refused', async (t) => {
  t.throws(() => buildAgentOptions({}, env, 'bad host'), /node name "bad host".*set it with --node/)
  t.throws(() => buildAgentOptions({ dnsPort: '70000' }, env, 'h'), /--dns-port "70000"/)
  t.throws(() => buildAgentOptions({ localAddress: 'localhost' }, env, 'h'), /--local-address "localhost" is not an IP address/)
  t.same(buildAgentOptions({ dnsUpstream: ['8.8.8.8'] }, env, 'h').dnsUpstreams, ['8.8.8.8'], 'a bare address means port 53, as the agent reads it')
  t.throws(() => buildAgentOptions({ dnsUpstream: ['dns.local:53'] }, env, 'h'), /DNS upstream "dns\.local:53" is not an IP address/, 'names are refused by the CLI as by the agent')
  t.throws(() => buildAgentOptions({ dnsUpstream: ['1.1.1.1:0'] }, env, 'h'), /outside 1\.\.65535/)
  t.throws(() => buildAgentOptions({ leaseTtl: 'soon' }, env, 'h'), /--lease-ttl/)
  t.throws(() => buildAgentOptions({ logLevel: 'chatty' }, env, 'h'), /--log-level/)
  t.throws(() => buildAgentOptions({ dnsDomain: 'Mesh' }, env, 'h'), /--dns-domain/)
})
