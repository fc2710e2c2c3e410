/**
 * The plain-TCP delivery at the destination: connect to the planned workload, answer the
 * CONNECT with 200 once connected (502 when refused, 504 when it does not answer), then
 * splice stream and socket with half-close honoured.
 */
import net from 'node:net'
import { spliceStream } from './splice-stream'
import { ERROR_HEADER, type InboundDelivery } from './tunnel-server'

export interface DeliverTcpOptions {
  readonly connectTimeoutMs?: number
  /** Once both directions are done; bytes as seen on the workload's socket. */
  readonly onClosed?: (r: { bytesToWorkload: number; bytesFromWorkload: number; error: boolean }) => void
}

export function deliverTcp(d: InboundDelivery, opts: DeliverTcpOptions = {}): void {
  const { stream } = d
  const socket = net.connect({ host: d.plan.target.host, port: d.plan.target.port, allowHalfOpen: true })
  let settled = false
  const timer = setTimeout(() => {
    if (settled) return
    settled = true
    socket.destroy()
    d.respond(504, { [ERROR_HEADER]: 'NM_TUNNEL_TARGET_TIMEOUT' })
  }, opts.connectTimeoutMs ?? 5_000)
  const giveUp = () => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    socket.destroy()
  }
  stream.once('close', giveUp)
  socket.once('error', (err: NodeJS.ErrnoException) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    d.respond(502, { [ERROR_HEADER]: 'NM_TUNNEL_TARGET_REFUSED', 'x-nodemesh-reason': err.code ?? 'connect failed' })
  })
  socket.once('connect', () => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    stream.off('close', giveUp)
    socket.setNoDelay(true)
    d.respond(200)
    spliceStream(stream, socket, ({ error }) => {
      opts.onClosed?.({ bytesToWorkload: socket.bytesWritten, bytesFromWorkload: socket.bytesRead, error })
    })
  })
}
