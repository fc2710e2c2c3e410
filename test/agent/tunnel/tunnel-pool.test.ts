import t from 'tap'
import crypto from 'node:crypto'
import http2 from 'node:http2'
import net from 'node:net'
import type tls from 'node:tls'
import { isNmError } from '../../../registry/errors'
import { createTunnelPool, TunnelRefusedError, type TunnelOpenRequest } from '../../../agent/tunnel/tunnel-pool'
import { freePort } from '../../helpers/free-port'
import { createTestCa, testCertSource } from '../../helpers/test-certs'
import { tunnelTable } from './table-fixture'
import {
  CLIENT, NODE_B, OTHER_CLIENT, TD, WEB, captureLog, eventually, meshCa, meshCerts, startTestTunnel, startWorkload,
} from './tunnel-fixture'

async function setup(t: Tap.Test, o: { mode?: 'echo' | 'shout'; idleTimeoutMs?: number; serverIdentities?: string[] } = {}) {
  const workload = await startWorkload(o.mode ?? 'echo')
  const table = tunnelTable([{ service: 'web', port: 80, endpoints: [{ node: 'node-a', address: '127.0.0.1', port: workload.port }] }])
  const tun = await startTestTunnel({ table, certs: o.serverIdentities ? meshCerts(`spiffe://${TD}/node/node-a`, o.serverIdentities) : undefined })
  const clientCerts = meshCerts(NODE_B, [CLIENT, OTHER_CLIENT])
  const { log, logs } = captureLog()
  const pool = createTunnelPool({ certs: clientCerts, trustDomain: TD, log, idleTimeoutMs: o.idleTimeoutMs, connectTimeoutMs: 5_000 })
  t.teardown(async () => { await pool.close(); await tun.server.close(); await workload.close() })
  const req: TunnelOpenRequest = {
    sourceIdentity: CLIENT, destNode: 'node-a', destAddress: `127.0.0.1:${tun.server.port}`, destIdentity: WEB,
    target: `127.0.0.1:${workload.port}`,
  }
  return { workload, tun, pool, req, clientCerts, logs }
}

/** Writes `data`, half-closes, and collects everything until the peer's END_STREAM. */
function exchange(stream: http2.ClientHttp2Stream, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = []
    stream.on('data', (c: Buffer) => got.push(c))
    stream.on('error', reject)
    stream.on('end', () => resolve(Buffer.concat(got)))
    stream.end(data)
  })
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (err) {
    return err
  }
  return undefined
}

t.test('pool -> server -> workload and back, half-close honoured both ways', async (t) => {
  const { pool, req, tun, workload } = await setup(t, { mode: 'shout' })
  const stream = await pool.open(req)
  const reply = await exchange(stream, Buffer.from('hello through the mesh'))
  t.equal(reply.toString(), 'HELLO THROUGH THE MESH', 'the workload answered only after our FIN, and its FIN ended the stream')
  t.equal(workload.connections, 1)
  t.equal(tun.deliveries[0]?.peer.uri, CLIENT, 'the server saw the source identity')
  t.same(tun.deliveries[0]?.plan.target, { host: '127.0.0.1', port: workload.port })
})

t.test('the workload half-closes first; the client still sends after it', async (t) => {
  const { pool, req, tun } = await setup(t)
  let heard = ''
  let workloadSawFin = false
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.end('bye now')
    s.on('data', (c: Buffer) => { heard += c.toString() })
    s.on('end', () => { workloadSawFin = true })
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())))
  tun.setTable(tunnelTable([{ service: 'greeter', port: 1, endpoints: [{ node: 'node-a', address: '127.0.0.1', port }] }]))
  const stream = await pool.open({ ...req, target: `127.0.0.1:${port}` })
  const closed = new Promise((r) => stream.once('close', r))
  const got: Buffer[] = []
  stream.on('data', (c: Buffer) => got.push(c))
  await new Promise((r) => stream.once('end', r))
  t.equal(Buffer.concat(got).toString(), 'bye now', "the workload's FIN arrived as END_STREAM")
  stream.end('still here')
  await closed
  t.equal(stream.rstCode, 0, 'the stream closed cleanly')
  t.ok(await eventually(() => heard === 'still here' && workloadSawFin), 'our bytes after its FIN reached it, then our FIN')
})

t.test('a reset travels as a reset both ways', async (t) => {
  const { pool, req, tun } = await setup(t)
  const seen: string[] = []
  const sockets: net.Socket[] = []
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s)
    s.on('error', (e: NodeJS.ErrnoException) => seen.push(`error ${e.code}`))
    s.on('end', () => seen.push('end'))
    s.write('ready')
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  t.teardown(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()) }))
  tun.setTable(tunnelTable([{ service: 'r', port: 1, endpoints: [{ node: 'node-a', address: '127.0.0.1', port }] }]))

  const first = await pool.open({ ...req, target: `127.0.0.1:${port}` })
  first.on('error', () => {})
  await new Promise((r) => first.once('data', r))
  first.close(http2.constants.NGHTTP2_CONNECT_ERROR)
  t.ok(await eventually(() => seen.length > 0), 'the workload saw the connection end')
  t.same(seen, ['error ECONNRESET'], 'as a TCP reset, not a FIN')

  const second = await pool.open({ ...req, target: `127.0.0.1:${port}` })
  second.on('error', () => {})
  await new Promise((r) => second.once('data', r))
  const closed = new Promise((r) => second.once('close', r))
  sockets[1]?.resetAndDestroy()
  await closed
  t.equal(second.rstCode, http2.constants.NGHTTP2_CONNECT_ERROR, "the workload's reset arrived as RST_STREAM CONNECT_ERROR")
})

t.test('N concurrent streams share ONE TLS connection', async (t) => {
  const { pool, req, tun, workload } = await setup(t)
  const N = 20
  const replies = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const stream = await pool.open(req)
    return (await exchange(stream, Buffer.from(`message ${i}`))).toString()
  }))
  t.same(replies, Array.from({ length: N }, (_, i) => `message ${i}`), 'each stream carried its own bytes')
  t.equal(tun.server.stats().secureConnections, 1, 'one TLS handshake at the server')
  t.equal(pool.sessions(), 1)
  t.equal(workload.connections, N, 'one workload connection per stream')
})

t.test('different source identities get different sessions, each seen as itself', async (t) => {
  const { pool, req, tun } = await setup(t)
  const a = await pool.open(req)
  const b = await pool.open({ ...req, sourceIdentity: OTHER_CLIENT })
  const c = await pool.open(req)
  t.equal(pool.sessions(), 2)
  t.equal(tun.server.stats().secureConnections, 2)
  t.same(tun.deliveries.map((d) => d.peer.uri), [CLIENT, OTHER_CLIENT, CLIENT])
  t.equal(tun.deliveries[0]?.stream.session, tun.deliveries[2]?.stream.session, 'the same source shares one server session')
  t.not(tun.deliveries[0]?.stream.session, tun.deliveries[1]?.stream.session)
  for (const s of [a, b, c]) s.close()
})

t.test('the client refuses a server whose certificate is for another identity', async (t) => {
  // The server holds no certificate for WEB, so it presents its node certificate.
  const { pool, req, tun, workload } = await setup(t, { serverIdentities: [] })
  const err = await rejection(pool.open(req))
  t.ok(isNmError(err, 'NM_TUNNEL_PEER_REJECTED'), String(err))
  t.match(String(err), /spiffe:\/\/nodemesh\.local\/node\/node-a is not the expected spiffe:\/\/nodemesh\.local\/ns\/default\/sa\/web/)
  t.equal(pool.sessions(), 0, 'nothing kept in the pool')
  t.equal(tun.deliveries.length, 0)
  t.equal(workload.connections, 0)
})

t.test('the client refuses a server holding a certificate of the right identity from another CA', async (t) => {
  const { pool, req, workload, tun } = await setup(t)
  const rogue = createTestCa('rogue')
  const rogueCerts = testCertSource({ bundlePem: meshCa().certPem, nodeIdentity: WEB, certs: [rogue.issue({ uris: [WEB] })] })
  const imposter = await startTestTunnel({ table: tunnelTable([]), certs: rogueCerts })
  t.teardown(() => imposter.server.close())
  const err = await rejection(pool.open({ ...req, destAddress: `127.0.0.1:${imposter.server.port}` }))
  t.ok(isNmError(err, 'NM_TUNNEL_UNREACHABLE'), String(err))
  t.match(String(err), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/)
  t.equal(imposter.deliveries.length + tun.deliveries.length, 0)
  t.equal(workload.connections, 0)
})

t.test('64 MiB each way, checked by hash, with the large windows in place', async (t) => {
  const { pool, req, tun } = await setup(t)
  const stream = await pool.open(req)
  const serverSession = tun.deliveries[0]?.stream.session
  const clientSession = stream.session
  const chunk = crypto.randomBytes(1024 * 1024)
  const sent = crypto.createHash('sha256')
  const received = crypto.createHash('sha256')
  let receivedBytes = 0
  stream.on('data', (c: Buffer) => { received.update(c); receivedBytes += c.length })
  const ended = new Promise((r) => stream.on('end', r))
  for (let i = 0; i < 64; i++) {
    const piece = Buffer.from(chunk)
    piece.writeUInt32BE(i, 0)
    sent.update(piece)
    if (!stream.write(piece)) await new Promise((r) => stream.once('drain', r))
  }
  stream.end()
  await ended
  t.equal(receivedBytes, 64 * 1024 * 1024)
  t.equal(received.digest('hex'), sent.digest('hex'))
  t.ok((clientSession?.state.effectiveLocalWindowSize ?? 0) >= 16 * 1024 * 1024, 'client connection window raised')
  t.ok((serverSession?.state.effectiveLocalWindowSize ?? 0) >= 16 * 1024 * 1024, 'server connection window raised')
  t.equal(serverSession?.remoteSettings.initialWindowSize, 4 * 1024 * 1024, 'client stream window as announced')
  t.equal(clientSession?.remoteSettings.initialWindowSize, 4 * 1024 * 1024, 'server stream window as announced')
})

t.test('idle sessions are closed; the next open dials anew', async (t) => {
  const { pool, req, tun } = await setup(t, { idleTimeoutMs: 200 })
  const stream = await pool.open(req)
  t.equal((await exchange(stream, Buffer.from('x'))).toString(), 'x')
  await new Promise((r) => stream.once('close', r))
  t.ok(await eventually(() => pool.sessions() === 0), 'the pool let the idle session go')
  t.ok(await eventually(() => tun.server.stats().openSessions === 0), 'and the server saw it closed')
  const again = await pool.open(req)
  t.equal((await exchange(again, Buffer.from('y'))).toString(), 'y')
  t.equal(tun.server.stats().secureConnections, 2)
})

t.test('a session with an open stream is not idle', async (t) => {
  const { pool, req, tun } = await setup(t, { idleTimeoutMs: 100 })
  const stream = await pool.open(req)
  await new Promise((r) => setTimeout(r, 400))
  t.equal(pool.sessions(), 1)
  t.equal((await exchange(stream, Buffer.from('still open'))).toString(), 'still open')
  t.equal(tun.server.stats().secureConnections, 1)
})

t.test('a refused CONNECT rejects with NM_TUNNEL_REFUSED, the status and the code', async (t) => {
  const { pool, req, tun } = await setup(t)
  const err = await rejection(pool.open({ ...req, target: '127.0.0.1:1' }))
  t.ok(err instanceof TunnelRefusedError, String(err))
  t.ok(isNmError(err, 'NM_TUNNEL_REFUSED'))
  const e = err as TunnelRefusedError
  t.same([e.status, e.peerCode], [403, 'NM_TUNNEL_NOT_LOCAL'])
  t.match(e.message, /^NM_TUNNEL_REFUSED: peer answered 403 NM_TUNNEL_NOT_LOCAL: /)
  const ok = await pool.open(req)
  t.equal((await exchange(ok, Buffer.from('z'))).toString(), 'z', 'the session still serves other streams')
  t.equal(tun.server.stats().secureConnections, 1)
})

t.test('no certificate for the source identity: NM_NO_IDENTITY, nothing dialled', async (t) => {
  const { pool, req, tun } = await setup(t)
  const err = await rejection(pool.open({ ...req, sourceIdentity: `spiffe://${TD}/ns/default/sa/nobody` }))
  t.ok(isNmError(err, 'NM_NO_IDENTITY'), String(err))
  t.equal(tun.server.stats().secureConnections + tun.server.stats().handshakeFailures, 0)
})

t.test('a peer that is not listening: NM_TUNNEL_UNREACHABLE', async (t) => {
  const { pool, req } = await setup(t)
  const err = await rejection(pool.open({ ...req, destAddress: `127.0.0.1:${await freePort()}` }))
  t.ok(isNmError(err, 'NM_TUNNEL_UNREACHABLE'), String(err))
  t.equal(pool.sessions(), 0)
})

t.test('concurrent opens of a key share one connecting session', async (t) => {
  const { pool, req, tun } = await setup(t)
  const streams = await Promise.all([pool.open(req), pool.open(req), pool.open(req)])
  t.equal(tun.server.stats().secureConnections, 1)
  for (const s of streams) s.close()
})

t.test('a session that goes away is dropped; the next open dials anew', async (t) => {
  const { pool, req, tun } = await setup(t)
  const first = await pool.open(req)
  first.on('error', () => {})
  for (const d of tun.deliveries) d.stream.session?.destroy()
  t.ok(await eventually(() => pool.sessions() === 0), 'dropped')
  const second = await pool.open(req)
  t.equal((await exchange(second, Buffer.from('back'))).toString(), 'back')
  t.equal(tun.server.stats().secureConnections, 2)
})

t.test('rotation: open sessions keep their certificate, the next session uses the new one', async (t) => {
  const { pool, req, tun, clientCerts } = await setup(t, { idleTimeoutMs: 200 })
  const serialSeen = (i: number) => ((tun.deliveries[i]?.stream.session?.socket as tls.TLSSocket | undefined)?.getPeerX509Certificate()?.serialNumber)
  const oldSerial = clientCerts.get(CLIENT)?.serial
  const a = await pool.open(req)
  clientCerts.put(meshCa().issue({ uris: [CLIENT] }))
  const newSerial = clientCerts.get(CLIENT)?.serial
  t.not(oldSerial, newSerial)
  const b = await pool.open(req)
  t.equal(tun.server.stats().secureConnections, 1, 'the open session is left alone')
  t.equal(serialSeen(1), oldSerial)
  a.close()
  b.close()
  t.ok(await eventually(() => pool.sessions() === 0), 'idle, closed')
  await pool.open(req)
  t.equal(serialSeen(2), newSerial, 'a new session presents the new certificate')
})

t.test('close() ends every session', async (t) => {
  const { pool, req, tun } = await setup(t)
  const s = await pool.open(req)
  s.on('error', () => {})
  await pool.close()
  t.equal(pool.sessions(), 0)
  t.ok(await eventually(() => tun.server.stats().openSessions === 0))
  const err = await rejection(pool.open(req))
  t.ok(isNmError(err, 'NM_TUNNEL_UNREACHABLE'), String(err))
})

