import net from 'node:net'
import t from 'tap'
import dnsPacket from 'dns-packet'
import { startDnsServer, type DnsServer } from '../../../agent/dns/dns-server'
import type { Upstream } from '../../../agent/dns/parse-upstream'
import { createLogger } from '../../../agent/observe/logger'
import { createMetrics, type Metrics } from '../../../agent/observe/metrics'
import type { RoutingTable } from '../../../agent/routing/routing-table'
import { isNmError } from '../../../registry/errors'
import { freePort } from '../../helpers/free-port'
import { answerData, dig, frame, tcpExchange, udpExchange } from './dns-test-client'
import { startFakeUpstream } from './fake-upstream'
import { DB, meshTable, service, TABLE, WEB } from './mesh-table'

interface Started { server: DnsServer; port: number; metrics: Metrics }

async function start(
  t: { teardown(fn: () => Promise<void>): void },
  upstreams: readonly Upstream[] = [], table: () => RoutingTable = () => TABLE,
  extra: { tcpIdleTimeoutMs?: number } = {},
): Promise<Started> {
  const metrics = createMetrics({ defaultMetrics: false })
  const port = await freePort()
  const server = await startDnsServer({
    address: '127.0.0.1', port, table, upstreams, metrics, log: createLogger('silent'), forwardTimeoutMs: 300, ...extra,
  })
  t.teardown(() => server.close())
  return { server, port, metrics }
}

async function counted(metrics: Metrics, type: string, outcome: string): Promise<number> {
  const { values } = await metrics.dnsQueries.get()
  return values.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value ?? 0
}

const query = (name: string, type: 'A' | 'SRV' = 'A', id = 99): Buffer =>
  dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] })

t.test('dig resolves mesh names over UDP and TCP', async (t) => {
  const { port, server, metrics } = await start(t)
  t.equal(server.port, port)
  t.equal((await dig(port, ['web.mesh', 'A', '+short'])).trim(), WEB.vip)
  t.equal((await dig(port, ['WEB.default.mesh.', 'A', '+short', '+tcp'])).trim(), WEB.vip)
  t.equal((await dig(port, ['db.data.mesh', 'A', '+short'])).trim(), DB.vip)
  t.equal((await dig(port, ['_http._tcp.web.mesh', 'SRV', '+short'])).trim(), '0 0 8080 web.default.mesh.')
  const srv = await dig(port, ['_postgres._tcp.db.data.mesh', 'SRV', '+tcp'])
  t.match(srv, /flags: qr aa rd ra;/)
  t.match(srv, /ADDITIONAL SECTION:\ndb\.data\.mesh\.\s+5\s+IN\s+A\s+127\.77\.0\.20/)
  const nx = await dig(port, ['nope.mesh', 'A'])
  t.match(nx, /status: NXDOMAIN/)
  t.match(nx, /AUTHORITY SECTION:\nmesh\.\s+5\s+IN\s+SOA\s+ns\.dns\.mesh\. hostmaster\.mesh\./)
  const aaaa = await dig(port, ['web.mesh', 'AAAA'])
  t.match(aaaa, /status: NOERROR/)
  t.match(aaaa, /ANSWER: 0, AUTHORITY: 1/)
  t.equal(await counted(metrics, 'A', 'answer'), 3)
  t.equal(await counted(metrics, 'SRV', 'answer'), 2)
  t.equal(await counted(metrics, 'A', 'nxdomain'), 1)
  t.equal(await counted(metrics, 'AAAA', 'nodata'), 1)
})

t.test('each query reads the current table', async (t) => {
  let table = TABLE
  const { port } = await start(t, [], () => table)
  t.equal((await dig(port, ['web.mesh', '+short'])).trim(), WEB.vip)
  table = meshTable([service('web', 'default', '127.77.9.9', [['http', 80, 'http']])], 'mesh', 8)
  t.equal((await dig(port, ['web.mesh', '+short'])).trim(), '127.77.9.9')
})

t.test('non-mesh names are forwarded to a real upstream over UDP and TCP', async (t) => {
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] } })
  t.teardown(up.close)
  const { port, metrics } = await start(t, [up])
  t.equal((await dig(port, ['example.com', 'A', '+short'])).trim(), '93.184.216.34')
  t.equal((await dig(port, ['Example.COM', 'A', '+short', '+tcp'])).trim(), '93.184.216.34')
  t.match(await dig(port, ['missing.example.com', 'A']), /status: NXDOMAIN/, 'upstream NXDOMAIN passed through')
  t.equal(await counted(metrics, 'A', 'forward'), 3)
})

t.test('a truncated upstream answer is fetched again over TCP', async (t) => {
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] }, truncateUdp: true })
  t.teardown(up.close)
  const { port } = await start(t, [up])
  t.equal((await dig(port, ['example.com', 'A', '+short'])).trim(), '93.184.216.34')
  t.equal(up.seen.udp, 1)
  t.equal(up.seen.tcp, 1)
})

t.test('all upstreams down: SERVFAIL, and the server keeps serving', async (t) => {
  const refused = { host: '127.0.0.1', port: await freePort() }
  const silent = await startFakeUpstream({ records: {}, silentUdp: true })
  t.teardown(silent.close)
  const { port, metrics } = await start(t, [refused, silent])
  const out = await dig(port, ['example.com', 'A'])
  t.match(out, /status: SERVFAIL/)
  t.match(out, /QUESTION SECTION:\n;example\.com\.\s+IN\s+A/)
  t.equal(await counted(metrics, 'A', 'servfail'), 1)
  t.equal((await dig(port, ['web.mesh', '+short'])).trim(), WEB.vip)
})

t.test('no upstream other than itself: SERVFAIL without a query loop', async (t) => {
  const port = await freePort()
  const metrics = createMetrics({ defaultMetrics: false })
  const server = await startDnsServer({
    address: '127.0.0.1', port, table: () => TABLE, upstreams: [{ host: '127.0.0.1', port }], metrics, log: createLogger('silent'),
  })
  t.teardown(() => server.close())
  t.match(await dig(port, ['example.com', 'A']), /status: SERVFAIL/)
  t.equal(await counted(metrics, 'A', 'servfail'), 1, 'answered once, not bounced back to itself')
})

t.test('UDP answers larger than the client accepts are truncated with TC', async (t) => {
  const big = Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 1}`)
  const up = await startFakeUpstream({ records: { 'big.example.com': big } })
  t.teardown(up.close)
  const { port } = await start(t, [up])
  const cut = await dig(port, ['big.example.com', 'A', '+noedns', '+ignore'])
  t.match(cut, /flags: qr tc rd ra;/)
  t.match(cut, /ANSWER: 0,/)
  const retried = await dig(port, ['big.example.com', 'A', '+noedns', '+short'])
  t.same(retried.trim().split('\n').sort(), [...big].sort(), 'dig retries over TCP and gets everything')
  const ednsBig = await dig(port, ['big.example.com', 'A', '+bufsize=4096', '+ignore'])
  t.match(ednsBig, /ANSWER: 60,/, 'an EDNS client advertising 4096 bytes gets it over UDP')
})

t.test('malformed packets: FORMERR when the id is readable, silence otherwise, never a crash', async (t) => {
  const { port, metrics } = await start(t)
  t.equal(await udpExchange(port, Buffer.from([1, 2, 3]), 300), null, 'shorter than a header: dropped')
  const broken = query('web.mesh', 'A', 0x5151).subarray(0, 20)
  const reply = await udpExchange(port, broken)
  t.ok(reply, 'a reply came')
  const p = dnsPacket.decode(reply!)
  t.equal(p.id, 0x5151)
  t.equal((p as unknown as { rcode: string }).rcode, 'FORMERR')
  const asResponse = dnsPacket.encode({ id: 3, type: 'response', questions: [{ name: 'web.mesh', type: 'A' }] })
  t.equal(await udpExchange(port, asResponse, 300), null, 'responses are not answered')
  const noQuestion = dnsPacket.encode({ id: 4, type: 'query', questions: [] })
  const formerr = dnsPacket.decode((await udpExchange(port, noQuestion))!)
  t.equal((formerr as unknown as { rcode: string }).rcode, 'FORMERR')
  const notify = dnsPacket.decode((await udpExchange(port, Buffer.concat([query('web.mesh').subarray(0, 2), Buffer.from([0x20, 0]), query('web.mesh').subarray(4)])))!)
  t.equal((notify as unknown as { rcode: string }).rcode, 'NOTIMP')
  t.equal(await counted(metrics, 'none', 'formerr'), 2)
  t.equal((await dig(port, ['web.mesh', '+short'])).trim(), WEB.vip, 'still serving')
})

t.test('TCP: several queries on one connection, each answered with its id', async (t) => {
  const { port } = await start(t)
  const names = ['web.mesh', 'db.data.mesh', 'nope.mesh', 'web.default.mesh']
  const replies = await tcpExchange(port, Buffer.concat(names.map((n, i) => frame(query(n, 'A', 100 + i)))), names.length)
  t.equal(replies.length, names.length)
  const byId = new Map(replies.map((r) => { const p = dnsPacket.decode(r); return [p.id, p] }))
  t.same(answerData(byId.get(100)!), [WEB.vip])
  t.same(answerData(byId.get(101)!), [DB.vip])
  t.equal((byId.get(102) as unknown as { rcode: string }).rcode, 'NXDOMAIN')
  t.same(answerData(byId.get(103)!), [WEB.vip])
})

t.test('TCP: a malformed query gets FORMERR and the connection goes on', async (t) => {
  const { port } = await start(t)
  const broken = query('web.mesh', 'A', 7).subarray(0, 20)
  const replies = await tcpExchange(port, Buffer.concat([frame(broken), frame(query('web.mesh', 'A', 8))]), 2)
  const byId = new Map(replies.map((r) => { const p = dnsPacket.decode(r); return [p.id, p] }))
  t.equal((byId.get(7) as unknown as { rcode: string }).rcode, 'FORMERR')
  t.same(answerData(byId.get(8)!), [WEB.vip])
})

t.test('TCP: a frame too short for a header, or an idle client, is disconnected', async (t) => {
  const { port } = await start(t, [], () => TABLE, { tcpIdleTimeoutMs: 200 })
  t.same(await tcpExchange(port, frame(Buffer.from([1, 2, 3])), 1), [], 'closed without a reply')
  const closedByServer = await new Promise<boolean>((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    sock.on('error', () => resolve(false))
    sock.on('end', () => resolve(true))
  })
  t.ok(closedByServer, 'idle connection closed by the server')
})

t.test('close releases the port; a taken port is a clear error', async (t) => {
  const { server, port } = await start(t)
  const err = await startDnsServer({
    address: '127.0.0.1', port, table: () => TABLE, upstreams: [], metrics: createMetrics({ defaultMetrics: false }), log: createLogger('silent'),
  }).catch((e: unknown) => e)
  t.ok(isNmError(err, 'NM_LISTEN_FAILED'))
  t.match((err as Error).message, `127.0.0.1:${port}`)
  await server.close()
  const again = await startDnsServer({
    address: '127.0.0.1', port, table: () => TABLE, upstreams: [], metrics: createMetrics({ defaultMetrics: false }), log: createLogger('silent'),
  })
  t.equal((await dig(port, ['web.mesh', '+short'])).trim(), WEB.vip)
  await again.close()
})
