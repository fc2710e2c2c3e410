/**
 * Keep-alive connections to endpoints, pooled per delivery key: the endpoint's `address:port`
 * for a workload on this node, source identity and target for a tunnel stream (a pooled
 * connection never carries another source's identity). Each connection gets
 * its listeners once, when created; they forward to whichever exchange currently owns the
 * connection, or keep an idle one honest (unexpected bytes, close or idle timeout drop it).
 * Idle connections are reused most-recent first: the likeliest to still be open. Connect and
 * idle timeouts are deadlines checked by `sweep`, so no timer is armed per exchange.
 */
import type http2 from 'node:http2'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { Delivery, TunnelRoute } from '../routing/plan-delivery'
import { batchedWrite } from './write-batch'

/** A delivery that reaches an endpoint (not a refusal). */
export type UpstreamDelivery = Exclude<Delivery, { kind: 'refuse' }>

/** Opens a CONNECT stream through the tunnel; resolves once the peer agent said 200. */
export type TunnelOpener = (route: TunnelRoute) => Promise<http2.Http2Stream>

/** The exchange that owns a connection while a request is on it. */
export interface UpstreamHandler {
  onUpstreamConnect(conn: UpstreamConn): void
  onUpstreamData(conn: UpstreamConn, chunk: Buffer): void
  onUpstreamEnd(conn: UpstreamConn): void
  onUpstreamClose(conn: UpstreamConn, err: Error | undefined): void
  onUpstreamDrain(conn: UpstreamConn): void
}

export interface UpstreamPoolOptions {
  /** Idle connections kept per target. */
  readonly maxIdlePerTarget: number
  /** An idle connection is closed after this long unused. */
  readonly idleTimeoutMs: number
  /** A connection attempt that takes longer fails with ETIMEDOUT. */
  readonly connectTimeoutMs: number
  /** How tunnel deliveries are opened (the opener refuses when the agent has no tunnel). */
  readonly tunnel: TunnelOpener
}

export class UpstreamConn {
  /** The TCP socket, or the tunnel stream once the peer accepted it (null until then). */
  socket: Duplex | null = null
  /** The pool key (see the file comment). */
  readonly target: string
  connected = false
  /** Carried at least one exchange before (a failure may just be a stale keep-alive). */
  reused = false
  handler: UpstreamHandler | null
  /** Until when the connection may take to connect (performance.now() ms). */
  readonly connectDeadline: number
  /** When it went back to the idle list; 0 while it carries an exchange. */
  idleSince = 0
  private lastError: Error | undefined
  private closed = false
  private readonly pool: UpstreamPool

  constructor(pool: UpstreamPool, delivery: UpstreamDelivery, handler: UpstreamHandler) {
    this.pool = pool
    this.target = delivery.key
    this.handler = handler
    this.connectDeadline = performance.now() + pool.options.connectTimeoutMs
    if (delivery.kind === 'direct') {
      // Half-open so a spliced (upgraded) connection can keep sending after the endpoint's FIN.
      const socket = net.connect({ host: delivery.host, port: delivery.port, allowHalfOpen: true, noDelay: true })
      socket.on('connect', this.onConnect.bind(this))
      this.attach(socket)
      return
    }
    pool.options.tunnel(delivery.route).then((stream) => {
      if (this.closed) {
        stream.destroy() // timed out or dropped while the peer was answering
        return
      }
      this.attach(stream)
      this.onConnect()
    }, (err: Error) => this.failEarly(err))
  }

  private attach(stream: Duplex): void {
    this.socket = stream
    stream.on('data', this.onData.bind(this))
    stream.on('end', this.onEnd.bind(this))
    stream.on('error', this.onError.bind(this))
    stream.on('close', this.onClose.bind(this))
    stream.on('drain', this.onDrain.bind(this))
  }

  /** A tunnel that never opened: behaves as a socket that errored and closed. */
  private failEarly(err: Error): void {
    this.lastError = err
    queueMicrotask(() => this.onClose())
  }

  write(buf: Buffer): boolean {
    return batchedWrite(this.socket!, buf)
  }

  pause(): void {
    this.socket?.pause()
  }

  resume(): void {
    this.socket?.resume()
  }

  /** Closes the connection, connected or still opening. */
  destroy(err?: Error): void {
    if (this.socket !== null) this.socket.destroy(err)
    else if (!this.closed) this.failEarly(err ?? new Error('closed before the tunnel opened'))
  }

  /** Stops routing socket events here (the socket is being spliced raw). */
  detach(): void {
    this.handler = null
    const s = this.socket
    if (s === null) return
    for (const event of ['connect', 'data', 'end', 'close', 'drain', 'error']) s.removeAllListeners(event)
  }

  private onConnect(): void {
    this.connected = true
    this.handler?.onUpstreamConnect(this)
  }

  private onData(chunk: Buffer): void {
    if (this.handler !== null) this.handler.onUpstreamData(this, chunk)
    else this.destroy() // bytes on an idle connection: the endpoint is confused, drop it
  }

  private onEnd(): void {
    if (this.handler !== null) this.handler.onUpstreamEnd(this)
    else this.destroy()
  }

  private onError(err: Error): void {
    this.lastError = err
  }

  private onClose(): void {
    if (this.closed) return
    this.closed = true
    const h = this.handler
    this.handler = null
    this.pool.forget(this)
    h?.onUpstreamClose(this, this.lastError)
  }

  private onDrain(): void {
    this.handler?.onUpstreamDrain(this)
  }

  /** Enforces the connect and idle deadlines. */
  sweep(now: number, idleTimeoutMs: number): void {
    if (!this.connected) {
      if (now >= this.connectDeadline) this.destroy(Object.assign(new Error(`connect to ${this.target} timed out`), { code: 'ETIMEDOUT' }))
    } else if (this.handler === null && this.idleSince !== 0 && now - this.idleSince >= idleTimeoutMs) this.destroy() // idle too long
  }
}

export class UpstreamPool {
  readonly options: UpstreamPoolOptions
  private readonly idle = new Map<string, UpstreamConn[]>()
  private readonly all = new Set<UpstreamConn>()

  constructor(options: UpstreamPoolOptions) {
    this.options = options
  }

  /** An idle connection for the delivery, or (with `fresh`, or none idle) a new one. */
  acquire(delivery: UpstreamDelivery, handler: UpstreamHandler, fresh: boolean): UpstreamConn {
    if (!fresh) {
      const list = this.idle.get(delivery.key)
      const conn = list?.pop()
      if (conn !== undefined) {
        if (list!.length === 0) this.idle.delete(delivery.key)
        conn.handler = handler
        conn.idleSince = 0
        return conn
      }
    }
    const conn = new UpstreamConn(this, delivery, handler)
    this.all.add(conn)
    return conn
  }

  /** Back to the idle list after a complete exchange, or closed when the list is full. */
  release(conn: UpstreamConn): void {
    conn.handler = null
    conn.reused = true
    let list = this.idle.get(conn.target)
    if (list === undefined) this.idle.set(conn.target, (list = []))
    if (list.length >= this.options.maxIdlePerTarget || conn.socket === null || conn.socket.destroyed) {
      conn.destroy()
      return
    }
    conn.idleSince = performance.now()
    list.push(conn)
  }

  /** Closes a connection that cannot carry another exchange. */
  discard(conn: UpstreamConn): void {
    conn.handler = null
    conn.destroy()
  }

  /** Hands a connection's stream over for raw splicing; the pool no longer tracks it. */
  takeOver(conn: UpstreamConn): Duplex {
    conn.detach()
    this.all.delete(conn)
    return conn.socket!
  }

  /** Closes connections past their connect or idle deadline. */
  sweep(now: number): void {
    for (const conn of this.all) conn.sweep(now, this.options.idleTimeoutMs)
  }

  /** Called by a connection when its socket closed. */
  forget(conn: UpstreamConn): void {
    this.all.delete(conn)
    const list = this.idle.get(conn.target)
    if (list === undefined) return
    const i = list.indexOf(conn)
    if (i !== -1) list.splice(i, 1)
    if (list.length === 0) this.idle.delete(conn.target)
  }

  close(): void {
    for (const conn of this.all) conn.destroy()
    this.all.clear()
    this.idle.clear()
  }
}
