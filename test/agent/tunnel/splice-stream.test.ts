import crypto from 'node:crypto'
import http2 from 'node:http2'
import net from 'node:net'
import t from 'tap'
import { spliceStream } from '../../../agent/tunnel/splice-stream'
import { waitFor } from '../../helpers/agent-process'

/**
 * Both ends of the tunnel on real sockets over loopback: an h2c server whose streams are
 * spliced to a TCP workload (the destination's side), and a TCP listener whose accepted,
 * paused sockets are spliced to CONNECT streams of an h2c client (the source's side).
 */
interface Rig {
  /** Connects to the source side; bytes go client -> stream -> workload and back. */
  connect(): Promise<net.Socket>
  /** What each splice reported when both of its sides closed, destination side then source side. */
  readonly closed: Array<{ side: 'destination' | 'source'; error: boolean }>
}

async function rig(t: Tap.Test, workload: (socket: net.Socket) => void): Promise<Rig> {
  const closed: Rig['closed'] = []
  const work = net.createServer({ allowHalfOpen: true }, workload)
  await new Promise<void>((r) => work.listen(0, '127.0.0.1', r))
  const workPort = (work.address() as net.AddressInfo).port

  const h2 = http2.createServer()
  h2.on('stream', (stream) => {
    const socket = net.connect({ host: '127.0.0.1', port: workPort, allowHalfOpen: true }, () => {
      stream.respond({ ':status': 200 })
      spliceStream(stream, socket, ({ error }) => closed.push({ side: 'destination', error }))
    })
  })
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r))
  const session = http2.connect(`http://127.0.0.1:${(h2.address() as net.AddressInfo).port}`)

  const source = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const stream = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${workPort}` })
    stream.once('response', () => spliceStream(stream, client, ({ error }) => closed.push({ side: 'source', error })))
  })
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r))
  const sourcePort = (source.address() as net.AddressInfo).port

  t.teardown(() => {
    session.destroy()
    for (const s of [source, h2, work]) s.close()
  })
  return {
    closed,
    connect: () => new Promise((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port: sourcePort, allowHalfOpen: true }, () => resolve(c))
      c.once('error', reject)
    }),
  }
}

/** Reads until the peer's FIN; rejects on an error (a reset). */
function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.once('end', () => resolve(Buffer.concat(chunks)))
    socket.once('error', reject)
  })
}

const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex')

t.test('an echo through both ends, with half-close carried each way', async (t) => {
  const r = await rig(t, (s) => {
    s.on('data', (d: Buffer) => s.write(d))
    s.on('end', () => s.end())
  })
  const client = await r.connect()
  const answer = readAll(client)
  client.end('hello through the tunnel')
  t.equal((await answer).toString(), 'hello through the tunnel', 'the workload answered after our FIN, and its FIN reached us')
  await new Promise((resolve) => client.once('close', resolve))
  await waitFor(async () => r.closed.length === 2, 'both splices to close')
  t.same(r.closed.map((c) => c.error), [false, false], 'both splices closed cleanly')
})

t.test('16 MiB each way arrive whole and in order', async (t) => {
  const up = crypto.randomBytes(16 * 1024 * 1024)
  const down = crypto.randomBytes(16 * 1024 * 1024)
  let received: Promise<Buffer> = Promise.resolve(Buffer.alloc(0))
  const r = await rig(t, (s) => {
    received = readAll(s)
    s.end(down)
  })
  const client = await r.connect()
  const got = readAll(client)
  client.end(up)
  t.equal(sha(await got), sha(down), 'workload to client')
  t.equal(sha(await received), sha(up), 'client to workload, through a socket that was paused until the splice')
})

t.test('a reset workload resets the client, through RST_STREAM', async (t) => {
  const r = await rig(t, (s) => {
    s.once('data', () => s.resetAndDestroy())
  })
  const client = await r.connect()
  const outcome = readAll(client).then(() => 'FIN', (err: NodeJS.ErrnoException) => err.code)
  client.write('anything')
  t.equal(await outcome, 'ECONNRESET', 'not a clean FIN: the client can tell the connection failed')
  await waitFor(async () => r.closed.length === 2, 'both splices to close')
  t.same(r.closed.map((c) => c.error).sort(), [true, true], 'both splices saw the failure')
})

t.test('a reset client resets the workload', async (t) => {
  let workloadSaw: Promise<string> | undefined
  let started = false
  const r = await rig(t, (s) => {
    workloadSaw = readAll(s).then(() => 'FIN', (err: NodeJS.ErrnoException) => err.code ?? 'error')
    s.once('data', () => { started = true })
  })
  const client = await r.connect()
  client.write('start')
  await waitFor(async () => started, 'the workload to get the first bytes')
  client.resetAndDestroy()
  t.equal(await workloadSaw, 'ECONNRESET', 'the workload sees a reset, not a FIN')
  await waitFor(async () => r.closed.length === 2, 'both splices to close')
  t.same(r.closed.map((c) => c.error), [true, true], 'both splices saw the failure')
})
