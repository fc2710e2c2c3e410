import t from 'tap'
import net from 'node:net'
import { createTcpRelay, type TcpRelay } from '../../../agent/tcp/tcp-relay'
import type { RoutingTable } from '../../../agent/routing/routing-table'
import { freePort } from '../../helpers/free-port'
import { buildTable } from '../http/routing-table-fixture'
import { testContext, type TestContext } from '../http/proxy-fixture'

const VIP = '127.77.0.9:5432'

/** Replies with the upper-cased bytes it received, only after the client's FIN (half-close). */
async function startShoutServer() {
  let conns = 0
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    conns++
    const got: Buffer[] = []
    s.on('data', (c: Buffer) => got.push(c))
    s.on('end', () => s.end(Buffer.concat(got).toString('latin1').toUpperCase()))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as net.AddressInfo).port, get conns() { return conns }, close: () => new Promise((r) => server.close(r)) }
}

async function startRelay(table: RoutingTable): Promise<TestContext & { relay: TcpRelay; port: number; close(): Promise<void> }> {
  const tc = testContext(table)
  const relay = createTcpRelay(tc.ctx)
  const server = net.createServer({ allowHalfOpen: true }, (s) => relay.handle(s, VIP))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    ...tc, relay, port: (server.address() as net.AddressInfo).port,
    async close() { await relay.close(); await new Promise((r) => server.close(r)) },
  }
}

function talk(port: number, data: Buffer): Promise<{ reply: Buffer; error: NodeJS.ErrnoException | undefined }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    const got: Buffer[] = []
    let error: NodeJS.ErrnoException | undefined
    s.on('data', (c: Buffer) => got.push(c))
    s.on('error', (e) => { error = e })
    s.on('end', () => s.end())
    s.on('close', () => resolve({ reply: Buffer.concat(got), error }))
    s.end(data) // write then half-close: the server answers only after our FIN
  })
}

t.test('relays both ways with half-close honoured, counts bytes, logs once', async (t) => {
  const be = await startShoutServer()
  const table = buildTable([{ name: 'db', vip: '127.77.0.9', ports: [{ port: 5432, protocol: 'tcp', endpoints: [{ port: be.port }] }] }])
  const rl = await startRelay(table)
  t.teardown(async () => { await rl.close(); await be.close() })

  const payload = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh')
  const { reply, error } = await talk(rl.port, payload)
  t.equal(error, undefined)
  t.ok(reply.equals(Buffer.from(payload.toString('latin1').toUpperCase(), 'latin1')), 'reply after half-close, byte for byte')

  await new Promise((r) => setTimeout(r, 20))
  const access = rl.logs.filter((l) => l.type === 'access')
  t.equal(access.length, 1, 'one access record per connection')
  t.match(access[0], { protocol: 'tcp', service: 'default/db', endpoint: `127.0.0.1:${be.port}`, bytes_in: payload.length, bytes_out: payload.length })
  t.type(access[0]!.duration_ms, 'number')
  const metrics = await rl.ctx.metrics.registry.metrics()
  t.match(metrics, new RegExp(`nodemesh_tcp_received_bytes_total\\{[^}]*destination_service="db.default.mesh"[^}]*\\} ${payload.length}`))
  t.match(metrics, new RegExp(`nodemesh_tcp_sent_bytes_total\\{[^}]*destination_service="db.default.mesh"[^}]*\\} ${payload.length}`))
  t.match(metrics, /nodemesh_tcp_connections_opened_total\{[^}]*\} 1/)
  t.match(metrics, /nodemesh_tcp_connections_closed_total\{[^}]*\} 1/)
  t.equal(rl.ctx.load.size, 0, 'load released')
})

t.test('no endpoint resets the client', async (t) => {
  const table = buildTable([{ name: 'db', vip: '127.77.0.9', ports: [{ port: 5432, protocol: 'tcp', endpoints: [] }] }])
  const rl = await startRelay(table)
  t.teardown(() => rl.close())
  const { reply, error } = await talk(rl.port, Buffer.from('hello'))
  t.equal(reply.length, 0)
  t.equal(error?.code, 'ECONNRESET', 'the client sees a reset, not a clean close')
  t.match(rl.logs.find((l) => l.type === 'access'), { error: 'NM_NO_HEALTHY_ENDPOINT' })
})

t.test('a refused endpoint is skipped once; all refused resets', async (t) => {
  const be = await startShoutServer()
  const dead = await freePort()
  const table = buildTable([
    { name: 'db', vip: '127.77.0.9', ports: [{ port: 5432, protocol: 'tcp', endpoints: [{ port: dead }, { port: be.port }] }] },
  ])
  const rl = await startRelay(table)
  t.teardown(async () => { await rl.close(); await be.close() })
  for (let i = 0; i < 5; i++) {
    const { reply, error } = await talk(rl.port, Buffer.from(`x${i}`))
    t.equal(error, undefined)
    t.equal(reply.toString(), `X${i}`, `connection ${i} reaches the live endpoint`)
  }
  rl.setTable(buildTable([{ name: 'db', vip: '127.77.0.9', ports: [{ port: 5432, protocol: 'tcp', endpoints: [{ port: dead }] }] }]))
  const { error } = await talk(rl.port, Buffer.from('y'))
  t.equal(error?.code, 'ECONNRESET')
})
