/**
 * The response side of one client connection: sends the request head (with the body bytes
 * that came with it) upstream on a pooled or fresh connection, reads the response head,
 * forwards interim and final responses and the response body, retries a request the endpoint
 * never answered, and hands over to a raw splice after a 101. One instance per client
 * connection, reused for every exchange on it.
 */
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import { pickEndpoint } from '../routing/pick-endpoint'
import { BodyFramer } from './body-framer'
import { joinHeadAndBody, MERGED_BODY_LIMIT } from './head-writer'
import type { ClientConnection } from './client-connection'
import { Phase } from './exchange-phase'
import { reject, type HttpRejection } from './http-error-response'
import type { ResponseHead } from './http-head'
import { parseResponseHead } from './parse-http-head'
import { planUpstreamRetry, upstreamFailure } from './plan-upstream-retry'
import { buildClientResponseHead } from './rewrite-heads'
import type { UpstreamConn, UpstreamHandler } from './upstream-pool'

export class UpstreamExchange implements UpstreamHandler {
  private readonly conn: ClientConnection
  private upstream: UpstreamConn | null = null
  private spliced: Duplex | null = null
  private readonly resFramer = new BodyFramer()
  /** Response bytes received before the head was complete. */
  private resBuf: Buffer | null = null
  private res: ResponseHead | null = null
  private upstreamSpoke = false
  private upstreamExtra = false
  private retriedPooled = false
  private retriedEndpoint = false
  private loadTarget: string | null = null
  /** When the response head is overdue (performance.now() ms); 0 when none is awaited. */
  private headDeadline = 0

  constructor(conn: ClientConnection) {
    this.conn = conn
  }

  /** Starts the exchange the client side has just planned. */
  start(): void {
    this.retriedPooled = false
    this.retriedEndpoint = false
    this.res = null
    this.dispatch(false)
  }

  private dispatch(fresh: boolean): void {
    const c = this.conn
    const ep = c.endpoint!
    c.shared.ctx.load.begin(ep.target)
    this.loadTarget = ep.target
    this.upstreamSpoke = false
    this.upstreamExtra = false
    this.resBuf = null
    const conn = c.shared.pool.acquire(c.delivery!, this, fresh)
    this.upstream = conn
    if (conn.connected) this.sendHead(conn)
  }

  onUpstreamConnect(conn: UpstreamConn): void {
    if (conn === this.upstream && this.conn.phase === Phase.Forward) this.sendHead(conn)
  }

  private sendHead(conn: UpstreamConn): void {
    const c = this.conn
    const head = c.plan!.head
    const body = c.firstBody
    if (body === null) conn.write(head)
    else if (body.length <= MERGED_BODY_LIMIT) conn.write(joinHeadAndBody(head, head.length, body, body.length))
    else {
      conn.write(head)
      conn.write(body)
    }
    this.headDeadline = performance.now() + c.shared.opts.responseHeadTimeoutMs
    if (!c.reqBodyDone) c.resumeClient()
  }

  /** Request body bytes from the client; false when the upstream socket buffer is full. */
  writeBody(chunk: Buffer): boolean {
    return this.upstream!.write(chunk)
  }

  resumeUpstream(): void {
    this.upstream?.resume()
  }

  onUpstreamData(conn: UpstreamConn, chunk: Buffer): void {
    const c = this.conn
    if (conn !== this.upstream || c.phase !== Phase.Forward) return
    this.upstreamSpoke = true
    if (this.res !== null) {
      this.forwardResponseBody(chunk)
      return
    }
    let buf: Buffer = this.resBuf === null ? chunk : Buffer.concat([this.resBuf, chunk])
    this.resBuf = buf
    for (;;) {
      const r = parseResponseHead(buf, c.req!.method, c.shared.opts.headLimits)
      if (r.kind === 'incomplete') return
      if (r.kind === 'error') return this.fail(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', `${r.reason}; check the endpoint speaks HTTP/1.1`))
      const head = r.head
      const rest: Buffer | null = head.headLength < buf.length ? buf.subarray(head.headLength) : null
      if (head.status === 101) {
        if (c.req!.upgrade === undefined) return this.fail(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', 'endpoint switched protocols without being asked'))
        return this.upgrade(conn, head, rest)
      }
      if (head.status >= 200) return this.startResponse(head, rest)
      // Interim (1xx, e.g. 100 Continue): forwarded ahead of the final response, except to HTTP/1.0 clients.
      if (c.req!.versionMinor === 1) c.writeClient(buildClientResponseHead(head, 'none'))
      this.resBuf = rest
      if (rest === null) return
      buf = rest
    }
  }

  private startResponse(res: ResponseHead, rest: Buffer | null): void {
    const c = this.conn
    this.headDeadline = 0
    this.resBuf = null
    this.res = res
    c.record.status = res.status
    this.resFramer.reset(res.framing)
    const n = rest === null ? 0 : this.resFramer.consume(rest, 0, rest.length)
    if (this.resFramer.error !== undefined) {
      return this.fail(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', `malformed response body: ${this.resFramer.error}`))
    }
    if (rest !== null && n < rest.length) this.upstreamExtra = true
    c.closeAfter = !c.req!.keepAlive || res.framing.kind === 'until-close'
    const connection = c.closeAfter ? 'close' : c.req!.versionMinor === 0 ? 'keep-alive' : 'none'
    let ok: boolean
    if (n <= MERGED_BODY_LIMIT) ok = c.writeClient(buildClientResponseHead(res, connection, rest, n))
    else {
      c.writeClient(buildClientResponseHead(res, connection))
      ok = c.writeClient(n === rest!.length ? rest! : rest!.subarray(0, n))
    }
    if (this.resFramer.done) this.finish()
    else if (!ok) this.upstream!.pause()
  }

  private forwardResponseBody(chunk: Buffer): void {
    const n = this.resFramer.consume(chunk, 0, chunk.length)
    let ok = true
    if (n > 0) ok = this.conn.writeClient(n === chunk.length ? chunk : chunk.subarray(0, n))
    if (this.resFramer.error !== undefined) return this.conn.abort(502) // the client has a partial response; only a close says so
    if (this.resFramer.done) {
      if (n < chunk.length) this.upstreamExtra = true
      this.finish()
    } else if (!ok) this.upstream!.pause()
  }

  onUpstreamDrain(conn: UpstreamConn): void {
    const c = this.conn
    if (conn === this.upstream && c.phase === Phase.Forward && !c.reqBodyDone) c.resumeClient()
  }

  onUpstreamEnd(conn: UpstreamConn): void {
    if (conn !== this.upstream || this.conn.phase !== Phase.Forward) return
    if (this.res !== null && this.res.framing.kind === 'until-close') {
      this.resFramer.closed()
      this.finish()
    } else this.upstreamLost(undefined)
  }

  onUpstreamClose(conn: UpstreamConn, err: Error | undefined): void {
    if (conn === this.upstream && this.conn.phase === Phase.Forward) this.upstreamLost(err)
  }

  /** The upstream connection failed or closed before the exchange completed. */
  private upstreamLost(err: Error | undefined): void {
    const c = this.conn
    const conn = this.upstream!
    if (this.res !== null) return c.abort(502) // mid-response: the client must see the truncation
    if (this.upstreamSpoke) {
      return this.fail(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', 'endpoint closed the connection in the middle of its response head'))
    }
    this.detach()
    const plan = planUpstreamRetry({
      // No response has started here: a lost connection after the head is handled above.
      canResend: c.reqBodyDone && !c.bodyStreamed,
      idempotent: c.plan!.idempotent,
      neverSent: !conn.connected,
      reused: conn.reused,
      retriedPooled: this.retriedPooled,
      retriedEndpoint: this.retriedEndpoint,
    })
    if (plan === 'fresh-connection') {
      this.retriedPooled = true
      return this.dispatch(true)
    }
    if (plan === 'other-endpoint') {
      this.retriedEndpoint = true
      const next = pickEndpoint(c.port!.endpoints, c.shared.outstanding, c.shared.opts.random, new Set([c.endpoint!.target]))
      if (next !== undefined) {
        const refused = c.deliverTo(next)
        if (refused !== undefined) return this.fail(refused)
        return this.dispatch(false)
      }
    }
    this.fail(upstreamFailure(c.endpoint!.target, (err as NodeJS.ErrnoException | undefined)?.code, err?.message))
  }

  /** Enforces the response head deadline (called by the client connection's sweep). */
  sweep(now: number): void {
    if (this.headDeadline !== 0 && now >= this.headDeadline && this.res === null) {
      const c = this.conn
      this.fail(reject(504, 'NM_UPSTREAM_TIMEOUT', `no response head from ${c.endpoint!.target} within ${c.shared.opts.responseHeadTimeoutMs} ms`))
    }
  }

  private fail(r: HttpRejection): void {
    this.detach()
    this.conn.failExchange(r)
  }

  /** Drops the upstream connection of this exchange (it cannot carry another one). */
  detach(): void {
    this.headDeadline = 0
    this.endLoad()
    if (this.upstream !== null) this.conn.shared.pool.discard(this.upstream)
    this.upstream = null
  }

  private finish(): void {
    const c = this.conn
    const conn = this.upstream!
    this.upstream = null
    this.headDeadline = 0
    this.endLoad()
    if (c.reqBodyDone && this.res!.keepAlive && !this.upstreamExtra) c.shared.pool.release(conn)
    else c.shared.pool.discard(conn)
    this.res = null
    c.exchangeDone()
  }

  private upgrade(conn: UpstreamConn, res: ResponseHead, rest: Buffer | null): void {
    const c = this.conn
    this.headDeadline = 0
    this.endLoad()
    c.writeClient(buildClientResponseHead(res, 'upgrade', rest, rest === null ? 0 : rest.length))
    // Only the head counts as response bytes here; what follows is spliced traffic.
    if (rest !== null) c.record.bytesOut -= rest.length
    const up = c.shared.pool.takeOver(conn)
    this.upstream = null
    this.spliced = up
    c.spliceTo(up)
  }

  destroySpliced(): void {
    this.spliced?.destroy()
  }

  private endLoad(): void {
    if (this.loadTarget !== null) {
      this.conn.shared.ctx.load.end(this.loadTarget)
      this.loadTarget = null
    }
  }
}
