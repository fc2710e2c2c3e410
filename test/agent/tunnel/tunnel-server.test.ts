import t from 'tap'
import http2 from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import { sniForIdentity } from '../../../agent/tunnel/sni-for-identity'
import { createTestCa, type LeafOptions } from '../../helpers/test-certs'
import { tunnelTable } from './table-fixture'
import { CLIENT, NODE_A, TD, WEB, eventually, meshCa, startTestTunnel, startWorkload, type TestTunnel, type TestWorkload } from './tunnel-fixture'

interface Attempt { status?: number; code?: string; error?: string; serverIdentity?: string }

/** One CONNECT from a hand-configured client; reports the answer or how it failed. */
function attempt(port: number, o: {
  key?: string; cert?: string; authority: string; method?: string; servername?: string
  minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion
}): Promise<Attempt> {
  return new Promise((resolve) => {
    const out: Attempt = {}
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      key: o.key, cert: o.cert, ca: meshCa().certPem, servername: o.servername ?? sniForIdentity(WEB),
      checkServerIdentity: () => undefined, minVersion: o.minVersion, maxVersion: o.maxVersion,
    })
    let done = false
    const finish = () => {
      if (done) return
      done = true
      out.error ??= 'closed'
      clearTimeout(timer)
      session.destroy()
      resolve(out)
    }
    const timer = setTimeout(() => { out.error ??= 'timeout'; finish() }, 5_000)
    session.on('error', (e: NodeJS.ErrnoException) => { out.error = [out.error, e.code ?? e.message].filter(Boolean).join(' ') })
    session.on('close', finish)
    // An HTTP/2 session whose socket is closed right after the handshake may never emit 'close'.
    session.socket.once('close', () => setTimeout(finish, 20))
    session.socket.once('secureConnect', () => {
      const san = (session.socket as tls.TLSSocket).getPeerX509Certificate()?.subjectAltName
      out.serverIdentity = san?.replace(/^URI:/, '')
    })
    const headers: http2.OutgoingHttpHeaders = o.method === undefined || o.method === 'CONNECT'
      ? { ':method': 'CONNECT', ':authority': o.authority }
      : { ':method': o.method, ':authority': o.authority, ':path': '/', ':scheme': 'https' }
    const req = session.request(headers)
    req.on('error', (e: NodeJS.ErrnoException) => { out.error = [out.error, e.code ?? e.message].filter(Boolean).join(' ') })
    req.on('response', (h) => {
      out.status = Number(h[':status'])
      const code = h['x-nodemesh-error']
      if (typeof code === 'string') out.code = code
      req.close()
      finish()
    })
    req.on('close', () => setImmediate(finish))
  })
}

/** A raw TCP exchange: what comes back for `bytes`, until the server closes. */
function rawExchange(port: number, bytes: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    const got: Buffer[] = []
    const timer = setTimeout(() => s.destroy(), 5_000)
    s.on('data', (c: Buffer) => got.push(c))
    s.on('error', () => {})
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(got)) })
    s.write(bytes)
  })
}

async function setup(t: Tap.Test, extra: { agentPorts?: (w: TestWorkload) => number[] } = {}) {
  const local = await startWorkload('echo')
  const remote = await startWorkload('echo')
  const table = tunnelTable([
    { service: 'web', port: 80, endpoints: [{ node: 'node-a', address: '127.0.0.1', port: local.port }] },
    { service: 'cache', port: 6379, endpoints: [{ node: 'node-b', address: '127.0.0.1', port: remote.port }] },
  ])
  const tun = await startTestTunnel({ table, agentPorts: extra.agentPorts?.(local) })
  t.teardown(async () => { await tun.server.close(); await local.close(); await remote.close() })
  return { local, remote, tun, target: `127.0.0.1:${local.port}` }
}

const clientCert = (o: LeafOptions = { uris: [CLIENT] }) => {
  const leaf = meshCa().issue(o)
  return { key: leaf.keyPem, cert: leaf.certPem }
}

/** No answer at all: the connection was refused or closed (not left hanging). */
function refused(t: Tap.Test, r: Attempt) {
  t.equal(r.status, undefined, `no answer (${r.error})`)
  t.not(r.error, 'timeout', 'closed by the server, not left hanging')
}

function nothingDelivered(t: Tap.Test, tun: TestTunnel, ...workloads: TestWorkload[]) {
  t.equal(tun.deliveries.length, 0, 'nothing handed to delivery')
  for (const w of workloads) t.equal(w.connections, 0, 'the workload never got a connection')
}

t.test('a mesh client certificate gets through (the harness can succeed)', async (t) => {
  const { tun, local, target } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: target })
  t.equal(r.status, 200)
  t.equal(r.serverIdentity, WEB, 'the server presented the identity asked for by SNI')
  t.equal(tun.deliveries[0]?.peer.uri, CLIENT, 'the peer identity reached delivery')
  t.ok(await eventually(() => local.connections === 1), 'the workload got the connection')
  t.equal(tun.server.stats().secureConnections, 1)
})

t.test('an unknown SNI gets the node certificate', async (t) => {
  const { tun, target } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: target, servername: sniForIdentity(`spiffe://${TD}/ns/x/sa/y`) })
  t.equal(r.serverIdentity, NODE_A)
})

t.test('rejected: a client certificate from another CA', async (t) => {
  const { tun, local, target } = await setup(t)
  const leaf = createTestCa('another CA').issue({ uris: [CLIENT] })
  const r = await attempt(tun.server.port, { key: leaf.keyPem, cert: leaf.certPem, authority: target })
  refused(t, r)
  t.ok(await eventually(() => tun.server.stats().handshakeFailures === 1), 'counted as a failed handshake')
  t.ok(tun.logs.some((l) => l.authorizationError === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'logged as untrusted')
  t.equal(tun.server.stats().secureConnections, 0)
  nothingDelivered(t, tun, local)
})

t.test('rejected: an expired client certificate', async (t) => {
  const { tun, local, target } = await setup(t)
  const r = await attempt(tun.server.port, {
    ...clientCert({ uris: [CLIENT], notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) }),
    authority: target,
  })
  refused(t, r)
  t.ok(await eventually(() => tun.server.stats().handshakeFailures === 1), 'counted as a failed handshake')
  t.ok(tun.logs.some((l) => l.msg === 'tunnel handshake refused' && /CERT_HAS_EXPIRED/.test(String(l.authorizationError))), 'logged as expired')
  nothingDelivered(t, tun, local)
})

for (const [name, leaf, reason] of [
  ['a wrong SAN (another trust domain)', { uris: ['spiffe://evil.example/ns/default/sa/client'] }, /trust domain evil\.example/],
  ['a wrong SAN (not a SPIFFE ID)', { uris: ['https://client.example/'] }, /not a SPIFFE ID/],
  ['two URI SANs', { uris: [CLIENT, `spiffe://${TD}/ns/default/sa/web`] }, /2 URI SANs/],
  ['no URI SAN at all', { dnsNames: ['client.example'] }, /0 URI SANs/],
  ['a CA certificate as leaf', { uris: [CLIENT], isCa: true }, /CA certificate/],
] as [string, LeafOptions, RegExp][]) {
  t.test(`rejected: ${name}`, async (t) => {
    const { tun, local, target } = await setup(t)
    const r = await attempt(tun.server.port, { ...clientCert(leaf), authority: target })
    refused(t, r)
    t.ok(await eventually(() => tun.server.stats().rejectedPeers === 1), 'the session was refused and counted')
    const warn = tun.logs.find((l) => l.msg === 'tunnel peer refused')
    t.equal(warn?.level, 40, 'logged at warn')
    t.match(String(warn?.reason), reason, 'with the reason')
    nothingDelivered(t, tun, local)
  })
}

t.test('rejected: no client certificate', async (t) => {
  const { tun, local, target } = await setup(t)
  const r = await attempt(tun.server.port, { authority: target })
  refused(t, r)
  t.match(String(r.error), /CERTIFICATE_REQUIRED/, 'a certificate-required alert')
  t.ok(await eventually(() => tun.server.stats().handshakeFailures === 1), 'counted as a failed handshake')
  nothingDelivered(t, tun, local)
})

t.test('rejected: plaintext HTTP/2 with prior knowledge', async (t) => {
  const { tun, local, target } = await setup(t)
  const r = await new Promise<Attempt>((resolve) => {
    const out: Attempt = {}
    const session = http2.connect(`http://127.0.0.1:${tun.server.port}`)
    const timer = setTimeout(() => { out.error = 'timeout'; session.destroy() }, 5_000)
    session.on('error', (e: NodeJS.ErrnoException) => { out.error = e.code ?? e.message })
    session.on('close', () => { clearTimeout(timer); out.error ??= 'closed'; resolve(out) })
    const req = session.request({ ':method': 'CONNECT', ':authority': target })
    req.on('error', () => {})
    req.on('response', (h) => { out.status = Number(h[':status']) })
  })
  refused(t, r)
  t.ok(await eventually(() => tun.server.stats().handshakeFailures === 1), 'not TLS: counted as a failed handshake')
  nothingDelivered(t, tun, local)
})

t.test('rejected: plaintext HTTP/1.1 to the TLS port', async (t) => {
  const { tun, local, target } = await setup(t)
  const reply = await rawExchange(tun.server.port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`)
  t.notMatch(reply.toString('latin1'), /^HTTP\//, 'no HTTP answer')
  t.ok(await eventually(() => tun.server.stats().handshakeFailures === 1), 'counted as a failed handshake')
  nothingDelivered(t, tun, local)
})

t.test('rejected: HTTP/1.1 over TLS with a good certificate (no fallback)', async (t) => {
  const { tun, local, target } = await setup(t)
  const reply = await new Promise<string>((resolve) => {
    const s = tls.connect({
      port: tun.server.port, host: '127.0.0.1', ...clientCert(), ca: meshCa().certPem, servername: sniForIdentity(WEB),
      checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'],
    })
    let got = ''
    const timer = setTimeout(() => s.destroy(), 5_000)
    s.on('secureConnect', () => s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`))
    s.on('data', (c: Buffer) => { got += c.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => { clearTimeout(timer); resolve(got) })
  })
  t.equal(reply, '', 'closed without an answer')
  nothingDelivered(t, tun, local)
})

t.test('rejected: a TLS 1.2-only client', async (t) => {
  const { tun, local, target } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: target, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })
  refused(t, r)
  t.match(String(r.error), /PROTOCOL_VERSION/, 'a protocol version alert')
  t.ok(await eventually(() => tun.server.stats().handshakeFailures === 1), 'counted as a failed handshake')
  nothingDelivered(t, tun, local)
})

t.test('rejected: an authority that is not a workload on this node', async (t) => {
  const { tun, local, remote } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: `127.0.0.1:${remote.port}` })
  t.same([r.status, r.code], [403, 'NM_TUNNEL_NOT_LOCAL'], 'a workload registered on another node')
  const r2 = await attempt(tun.server.port, { ...clientCert(), authority: '127.0.0.1:1' })
  t.same([r2.status, r2.code], [403, 'NM_TUNNEL_NOT_LOCAL'], 'an address nobody registered')
  const r3 = await attempt(tun.server.port, { ...clientCert(), authority: `localhost:${local.port}` })
  t.same([r3.status, r3.code], [400, 'NM_TUNNEL_BAD_AUTHORITY'], 'a name instead of an IP')
  nothingDelivered(t, tun, local, remote)
})

t.test("rejected: the agent's own ports, even where a workload is registered on one", async (t) => {
  const { tun, local } = await setup(t, { agentPorts: (w) => [15000, w.port] })
  const r = await attempt(tun.server.port, { ...clientCert(), authority: `127.0.0.1:${local.port}` })
  t.same([r.status, r.code], [403, 'NM_TUNNEL_AGENT_PORT'])
  nothingDelivered(t, tun, local)
})

t.test('rejected: a loop to our own tunnel address', async (t) => {
  const { tun, local } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: `127.0.0.1:${tun.server.port}` })
  t.same([r.status, r.code], [403, 'NM_TUNNEL_LOOP'])
  t.equal(tun.server.stats().secureConnections, 1, 'the tunnel did not dial itself')
  nothingDelivered(t, tun, local)
})

t.test('rejected: a method other than CONNECT', async (t) => {
  const { tun, local, target } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: target, method: 'GET' })
  t.same([r.status, r.code], [405, 'NM_TUNNEL_METHOD'])
  nothingDelivered(t, tun, local)
})

t.test('a registered local workload that refuses: 502 NM_TUNNEL_TARGET_REFUSED', async (t) => {
  const closed = await startWorkload('echo')
  const port = closed.port
  await closed.close()
  const tun = await startTestTunnel({ table: tunnelTable([{ service: 'gone', port: 9, endpoints: [{ node: 'node-a', address: '127.0.0.1', port }] }]) })
  t.teardown(() => tun.server.close())
  const r = await attempt(tun.server.port, { ...clientCert(), authority: `127.0.0.1:${port}` })
  t.same([r.status, r.code], [502, 'NM_TUNNEL_TARGET_REFUSED'])
  t.equal(tun.deliveries.length, 1, 'planned for delivery, then refused by the workload')
})

t.test('close() ends open sessions and stops listening', async (t) => {
  const { tun, target } = await setup(t)
  const r = await attempt(tun.server.port, { ...clientCert(), authority: target })
  t.equal(r.status, 200)
  await tun.server.close()
  const after = await attempt(tun.server.port, { ...clientCert(), authority: target })
  t.match(String(after.error), /ECONNREFUSED/)
})
