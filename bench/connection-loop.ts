/**
 * New connections, one after another: connect from the source host, send one HTTP/1.0
 * request, read the answer until the server closes, and start over, for a fixed time. wrk
 * cannot do this (it keeps connections alive), so the loop is here, on node:net.
 */
import net from 'node:net'
import { SOURCE_HOST, type HostPort } from './tunnel-arm'

export interface LoopResult {
  /** Connections that got a whole 200 answer. */
  readonly connections: number
  readonly errors: number
  readonly durationUs: number
  readonly perSecond: number
  /** Time of one connection, connect to close. */
  readonly p50Us: number
  readonly p99Us: number
  /** First error seen, to say why when there are errors. */
  readonly firstError?: string
}

const REQUEST = Buffer.from('GET / HTTP/1.0\r\nHost: bench\r\n\r\n')
const EXCHANGE_TIMEOUT_MS = 5_000

/** One connection; resolves with an error text or undefined for a 200 answer. */
export function oneExchange(target: HostPort): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let settled = false
    const finish = (err: string | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(err)
    }
    const socket = net.connect({ host: target.host, port: target.port, localAddress: SOURCE_HOST, noDelay: true })
    const timer = setTimeout(() => finish(`no close within ${EXCHANGE_TIMEOUT_MS} ms`), EXCHANGE_TIMEOUT_MS)
    socket.once('connect', () => socket.write(REQUEST))
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message))
    socket.once('close', () => {
      const head = Buffer.concat(chunks).subarray(0, 32).toString('latin1')
      finish(/^HTTP\/1\.[01] 200 /.test(head) ? undefined : `answer was ${JSON.stringify(head.split('\r\n')[0] ?? '')}`)
    })
  })
}

export async function connectionLoop(target: HostPort, durationS: number): Promise<LoopResult> {
  const times: number[] = []
  let errors = 0
  let firstError: string | undefined
  const start = process.hrtime.bigint()
  const end = start + BigInt(durationS) * 1_000_000_000n
  for (let now = start; now < end; now = process.hrtime.bigint()) {
    const err = await oneExchange(target)
    const done = process.hrtime.bigint()
    if (err === undefined) times.push(Number(done - now) / 1000)
    else { errors++; firstError ??= err }
  }
  const durationUs = Number(process.hrtime.bigint() - start) / 1000
  times.sort((a, b) => a - b)
  const pct = (p: number): number => (times.length ? (times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] as number) : 0)
  return {
    connections: times.length, errors, durationUs, perSecond: times.length / (durationUs / 1e6),
    p50Us: pct(50), p99Us: pct(99), ...(firstError !== undefined ? { firstError } : {}),
  }
}
