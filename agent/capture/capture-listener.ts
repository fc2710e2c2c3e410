/**
 * Capture mode's one listener (port 15001): every connection the REDIRECT rules send here is
 * handed on under its original destination `address:port`, which the data plane looks up
 * exactly as bind mode's accepted local address. A connection whose original destination
 * cannot be read is reset: guessing would send it to the wrong service.
 */
import { unmapV4 } from '../address-text'
import net from 'node:net'
import { NmError } from '../../registry/errors'
import type { Logger } from '../observe/logger'
import type { OriginalDst, OriginalDstReader } from './original-dst'
import { CAPTURE_PORT } from './plan-iptables'

export interface CaptureListenerOptions {
  /** Default 0.0.0.0: REDIRECT rewrites to the receiving interface's address, loopback for host processes. */
  readonly address?: string
  readonly port?: number
  readonly onConnection: (socket: net.Socket, vipPort: string) => void
  /** A connection reset because its original destination is unknown (for metrics). */
  readonly onRefused?: (reason: string) => void
  readonly log: Logger
  readonly originalDst: OriginalDstReader
}

export interface CaptureStats {
  readonly captured: number
  readonly refused: number
}

export interface CaptureListener {
  readonly address: net.AddressInfo
  stats(): CaptureStats
  /** Stops accepting; connections already handed on finish on their own. */
  close(): Promise<void>
}

export type CaptureDecision =
  | { readonly kind: 'deliver'; readonly vipPort: string }
  | { readonly kind: 'refuse'; readonly reason: string }

/**
 * Pure: what to do with a connection, given its original destination (or why it could not be
 * read) and the local end it arrived on. A destination equal to the local end means the
 * connection was made to the capture port directly, not redirected: it names no service.
 */
export function decideCaptured(original: OriginalDst | Error, local: { address?: string | undefined; port?: number | undefined }): CaptureDecision {
  if (original instanceof Error) return { kind: 'refuse', reason: `original destination unreadable: ${original.message}` }
  const address = unmapV4(original.address)
  if (address === unmapV4(local.address ?? '') && original.port === local.port) {
    return { kind: 'refuse', reason: `not redirected: connected to the capture port ${address}:${original.port} directly` }
  }
  return { kind: 'deliver', vipPort: `${address}:${original.port}` }
}

export function startCaptureListener(opts: CaptureListenerOptions): Promise<CaptureListener> {
  const host = opts.address ?? '0.0.0.0'
  const port = opts.port ?? CAPTURE_PORT
  let captured = 0
  let refused = 0
  // allowHalfOpen: a TCP client that shuts down its write side still gets the reply.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    let original: OriginalDst | Error
    try {
      original = opts.originalDst(socket)
    } catch (err) {
      original = err instanceof Error ? err : new Error(String(err))
    }
    const decision = decideCaptured(original, { address: socket.localAddress, port: socket.localPort })
    if (decision.kind === 'deliver') {
      captured++
      opts.onConnection(socket, decision.vipPort)
      return
    }
    refused++
    opts.log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, reason: decision.reason }, 'captured connection reset')
    opts.onRefused?.(decision.reason)
    socket.on('error', () => undefined)
    socket.resetAndDestroy()
  })
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (another agent in capture mode may be running)' : ''
      reject(new NmError('NM_LISTEN_FAILED', `cannot listen on ${host}:${port} for captured connections: ${err.code ?? err.message}${hint}`, { cause: err }))
    })
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address() as net.AddressInfo
      opts.log.info({ listener: `${address.address}:${address.port}` }, 'capture listener opened')
      resolve({
        address,
        stats: () => ({ captured, refused }),
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
  })
}
