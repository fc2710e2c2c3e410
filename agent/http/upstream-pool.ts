/**
 * Keep-alive connections to endpoints, pooled per target (`address:port`). Each socket gets
 * its listeners once, when created; they forward to whichever exchange currently owns the
 * connection, or keep an idle one honest (unexpected bytes, close or idle timeout drop it).
 * Idle connections are reused most-recent first: the likeliest to still be open. Connect and
 * idle timeouts are deadlines checked by `sweep`, so no timer is armed per exchange.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { CompiledEndpoint } from '../routing/routing-table'

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
}

export class UpstreamConn {
  readonly socket: net.Socket
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
  private readonly pool: UpstreamPool

  constructor(pool: UpstreamPool, ep: CompiledEndpoint, handler: UpstreamHandler) {
    this.pool = pool
    this.target = ep.target
    this.handler = handler
    // Half-open so a spliced (upgraded) connection can keep sending after the endpoint's FIN.
    this.socket = net.connect({ host: ep.address, port: ep.port, allowHalfOpen: true, noDelay: true })
    this.connectDeadline = performance.now() + pool.options.connectTimeoutMs
    this.socket.on('connect', this.onConnect.bind(this))
    this.socket.on('data', this.onData.bind(this))
    this.socket.on('end', this.onEnd.bind(this))
    this.socket.on('error', this.onError.bind(this))
    this.socket.on('close', this.onClose.bind(this))
    this.socket.on('drain', this.onDrain.bind(this))
  }

  /** Stops routing socket events here (the socket is being spliced raw). */
  detach(): void {
    this.handler = null
    this.socket.removeAllListeners('connect')
    this.socket.removeAllListeners('data')
    this.socket.removeAllListeners('end')
    this.socket.removeAllListeners('close')
    this.socket.removeAllListeners('drain')
    this.socket.removeAllListeners('error')
  }

  private onConnect(): void {
    this.connected = true
    this.handler?.onUpstreamConnect(this)
  }

  private onData(chunk: Buffer): void {
    if (this.handler !== null) this.handler.onUpstreamData(this, chunk)
    else this.socket.destroy() // bytes on an idle connection: the endpoint is confused, drop it
  }

  private onEnd(): void {
    if (this.handler !== null) this.handler.onUpstreamEnd(this)
    else this.socket.destroy()
  }

  private onError(err: Error): void {
    this.lastError = err
  }

  private onClose(): void {
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
      if (now >= this.connectDeadline) this.socket.destroy(Object.assign(new Error(`connect to ${this.target} timed out`), { code: 'ETIMEDOUT' }))
    } else if (this.handler === null && this.idleSince !== 0 && now - this.idleSince >= idleTimeoutMs) this.socket.destroy() // idle too long
  }
}

export class UpstreamPool {
  readonly options: UpstreamPoolOptions
  private readonly idle = new Map<string, UpstreamConn[]>()
  private readonly all = new Set<UpstreamConn>()

  constructor(options: UpstreamPoolOptions) {
    this.options = options
  }

  /** An idle connection to the endpoint, or (with `fresh`, or none idle) a new one. */
  acquire(ep: CompiledEndpoint, handler: UpstreamHandler, fresh: boolean): UpstreamConn {
    if (!fresh) {
      const list = this.idle.get(ep.target)
      const conn = list?.pop()
      if (conn !== undefined) {
        if (list!.length === 0) this.idle.delete(ep.target)
        conn.handler = handler
        conn.idleSince = 0
        return conn
      }
    }
    const conn = new UpstreamConn(this, ep, handler)
    this.all.add(conn)
    return conn
  }

  /** Back to the idle list after a complete exchange, or closed when the list is full. */
  release(conn: UpstreamConn): void {
    conn.handler = null
    conn.reused = true
    let list = this.idle.get(conn.target)
    if (list === undefined) this.idle.set(conn.target, (list = []))
    if (list.length >= this.options.maxIdlePerTarget || conn.socket.destroyed) {
      conn.socket.destroy()
      return
    }
    conn.idleSince = performance.now()
    list.push(conn)
  }

  /** Closes a connection that cannot carry another exchange. */
  discard(conn: UpstreamConn): void {
    conn.handler = null
    conn.socket.destroy()
  }

  /** Hands a connection's socket over for raw splicing; the pool no longer tracks it. */
  takeOver(conn: UpstreamConn): net.Socket {
    conn.detach()
    this.all.delete(conn)
    return conn.socket
  }

  /** Closes connections past their connect or idle deadline. */
  sweep(now: number): void {
    for (const conn of this.all) conn.sweep(now, this.options.idleTimeoutMs)
  }

  idleCount(target: string): number {
    return this.idle.get(target)?.length ?? 0
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
    for (const conn of this.all) conn.socket.destroy()
    this.all.clear()
    this.idle.clear()
  }
}
