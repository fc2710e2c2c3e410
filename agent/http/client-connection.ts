/**
 * One client connection of the HTTP/1.1 proxy. Requests are handled one at a time, in order:
 * pipelined requests wait in a capped buffer (the socket is paused past the cap) until the
 * response before them is complete. Decisions come from pure functions (parse, plan,
 * rewrite, frame); this class only moves bytes and keeps per-exchange state in fields, so no
 * closure or string is created per body chunk.
 */
import type net from 'node:net'
import { performance } from 'node:perf_hooks'
import { pickEndpoint } from '../routing/pick-endpoint'
import type { CompiledEndpoint, CompiledPort } from '../routing/routing-table'
import { spliceSockets } from '../tcp/splice-sockets'
import { BodyFramer } from './body-framer'
import { errorResponse, reject, type HttpErrorCode, type HttpRejection } from './http-error-response'
import type { RequestHead, ResponseHead } from './http-head'
import type { ProxyShared } from './proxy-shared'
import { parseRequestHead, parseResponseHead } from './parse-http-head'
import { planHttpRequest, type ForwardPlan, type HttpBinding } from './plan-http-request'
import { buildClientResponseHead } from './rewrite-heads'
import type { UpstreamConn, UpstreamHandler } from './upstream-pool'

const enum St { Head, Forward, Upgraded, Closed }

const PARSE_CODES: Record<number, HttpErrorCode> = { 400: 'NM_BAD_REQUEST', 431: 'NM_HEADERS_TOO_LARGE', 505: 'NM_HTTP_VERSION_UNSUPPORTED' }

export class ClientConnection implements UpstreamHandler {
  private state = St.Head
  private readonly shared: ProxyShared
  private readonly socket: net.Socket
  private readonly binding: HttpBinding
  private readonly client: string
  /** Client bytes received but not yet consumed (a partial head, or pipelined requests). */
  private pending: Buffer | null = null
  private clientEnded = false
  private clientPaused = false

  // The exchange in flight.
  private req: RequestHead | null = null
  private plan: ForwardPlan | null = null
  private port: CompiledPort | undefined = undefined
  private endpoint: CompiledEndpoint | undefined = undefined
  private dnsDomain = ''
  private upstream: UpstreamConn | null = null
  private spliced: net.Socket | null = null
  /** Body bytes that came with the head; kept so the request can be sent again. */
  private firstBody: Buffer | null = null
  private reqBodyDone = false
  private bodyStreamed = false
  private readonly reqFramer = new BodyFramer()
  private readonly resFramer = new BodyFramer()
  private resBuf: Buffer | null = null
  private res: ResponseHead | null = null
  private upstreamSpoke = false
  private upstreamExtra = false
  private responseStarted = false
  private retriedPooled = false
  private retriedEndpoint = false
  private closeAfter = false
  private recorded = true
  private loadTarget: string | null = null
  private headTimer: NodeJS.Timeout | null = null
  private startedAt = 0
  private bytesIn = 0
  private bytesOut = 0
  private status = 0

  private readonly onData = this.onClientData.bind(this)
  private readonly onEnd = this.onClientEnd.bind(this)
  private readonly onClose = this.onClientClose.bind(this)
  private readonly onDrain = this.onClientDrain.bind(this)
  private readonly onTimeout = this.onClientTimeout.bind(this)
  private readonly onHeadTimeout = this.headTimedOut.bind(this)

  constructor(shared: ProxyShared, socket: net.Socket, binding: HttpBinding) {
    this.shared = shared
    this.socket = socket
    this.binding = binding
    const addr = socket.remoteAddress ?? 'unknown'
    this.client = addr.startsWith('::ffff:') ? addr.slice(7) : addr
    // Half-open: a client may send its request, close its side, and still read the answer.
    socket.allowHalfOpen = true
    socket.setNoDelay(true)
    socket.setTimeout(shared.opts.clientIdleTimeoutMs)
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
    socket.on('timeout', this.onTimeout)
    socket.on('error', noop) // 'close' follows and does the cleanup
  }

  destroy(): void {
    this.socket.destroy()
    this.spliced?.destroy()
  }

  // ---- client side ----

  private onClientData(chunk: Buffer): void {
    if (this.state === St.Head) {
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
      // A head can only complete in a chunk holding a line feed.
      if (chunk.indexOf(0x0a) !== -1 || this.pending.length > this.shared.opts.headLimits.maxHeadBytes) this.processPending()
    } else if (this.state === St.Forward) {
      if (!this.reqBodyDone) this.forwardBody(chunk)
      else this.bufferNext(chunk)
    }
  }

  private forwardBody(chunk: Buffer): void {
    const n = this.reqFramer.consume(chunk, 0, chunk.length)
    if (n > 0) {
      this.bodyStreamed = true
      this.bytesIn += n
      const ok = this.upstream!.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))
      if (!ok) this.pauseClient()
    }
    if (this.reqFramer.error !== undefined) {
      // Part of the body already went upstream: nothing sane can follow on either connection.
      this.abort(400)
      return
    }
    if (this.reqFramer.done) {
      this.reqBodyDone = true
      if (n < chunk.length) this.bufferNext(chunk.subarray(n))
    }
  }

  private bufferNext(chunk: Buffer): void {
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
    if (this.pending.length > this.shared.opts.pipelineBufferBytes) this.pauseClient()
  }

  private processPending(): void {
    while (this.state === St.Head) {
      if (this.pending === null) {
        if (this.clientEnded) this.endClient()
        return
      }
      const r = parseRequestHead(this.pending, this.shared.opts.headLimits)
      if (r.kind === 'incomplete') {
        if (this.clientEnded) this.endClient()
        return
      }
      if (r.kind === 'error') {
        this.beginRecord(undefined)
        this.bytesIn = this.pending.length
        this.pending = null
        this.rejectRequest(reject(r.status, PARSE_CODES[r.status] ?? 'NM_BAD_REQUEST', r.reason), true)
        return
      }
      const head = r.head
      const rest = head.headLength < this.pending.length ? this.pending.subarray(head.headLength) : null
      this.pending = null
      this.startRequest(head, rest)
    }
  }

  private startRequest(head: RequestHead, rest: Buffer | null): void {
    this.beginRecord(head)
    const shared = this.shared
    const table = shared.ctx.table()
    const plan = planHttpRequest({ table, binding: this.binding, head, clientAddress: this.client, outstanding: shared.outstanding, random: shared.opts.random })
    if (plan.kind === 'reject') {
      this.port = plan.port
      // Without a body to skip, the connection can serve the next request (a refused CONNECT is done).
      const close = !head.keepAlive || head.framing.kind !== 'none' || head.method === 'CONNECT'
      this.pending = rest
      this.rejectRequest(plan, close)
      return
    }
    this.state = St.Forward
    this.plan = plan
    this.port = plan.port
    this.endpoint = plan.endpoint
    this.reqFramer.reset(head.framing)
    this.firstBody = null
    if (rest !== null) {
      const n = this.reqFramer.consume(rest, 0, rest.length)
      if (this.reqFramer.error !== undefined) {
        this.state = St.Head
        this.rejectRequest(reject(400, 'NM_BAD_REQUEST', `malformed body: ${this.reqFramer.error}`), true)
        return
      }
      if (n > 0) this.firstBody = n === rest.length ? rest : rest.subarray(0, n)
      if (n < rest.length) this.pending = rest.subarray(n)
      this.bytesIn += n
    }
    this.reqBodyDone = this.reqFramer.done
    this.bodyStreamed = false
    this.retriedPooled = false
    this.retriedEndpoint = false
    this.responseStarted = false
    this.res = null
    // The rest of the body waits in the kernel until the head is on its way upstream.
    if (!this.reqBodyDone) this.pauseClient()
    this.dispatch(false)
  }

  private onClientEnd(): void {
    this.clientEnded = true
    if (this.state === St.Head) this.processPending()
    else if (this.state === St.Forward && !this.reqBodyDone) this.abort(400) // truncated request body
  }

  private onClientDrain(): void {
    if (this.state === St.Forward && this.upstream !== null) this.upstream.socket.resume()
  }

  private onClientTimeout(): void {
    // Only idle connections (between requests or after our FIN) time out; a slow upstream has its own timer.
    if (this.state === St.Head || this.state === St.Closed) this.socket.destroy()
  }

  private onClientClose(): void {
    const wasForwarding = this.state === St.Forward
    this.state = St.Closed
    this.clearHeadTimer()
    if (this.upstream !== null) {
      this.shared.pool.discard(this.upstream)
      this.upstream = null
    }
    this.endLoad()
    // 499 (client closed request), as nginx logs it.
    if (wasForwarding) this.record(this.responseStarted && this.status !== 0 ? this.status : 499)
    this.shared.connections.delete(this)
  }

  private pauseClient(): void {
    if (!this.clientPaused) {
      this.clientPaused = true
      this.socket.pause()
    }
  }

  private resumeClient(): void {
    if (this.clientPaused) {
      this.clientPaused = false
      this.socket.resume()
    }
  }

  private endClient(): void {
    this.state = St.Closed
    this.socket.end()
  }

  /**
   * Ends the exchange and both connections (mid-body failures). `status` is what the access
   * log records when no response had started.
   */
  private abort(status: number): void {
    this.clearHeadTimer()
    this.endLoad()
    this.record(this.responseStarted ? this.status : status)
    this.state = St.Closed
    if (this.upstream !== null) this.shared.pool.discard(this.upstream)
    this.upstream = null
    this.socket.destroy()
  }

  private rejectRequest(r: HttpRejection, close: boolean): void {
    const text = errorResponse(r, close)
    this.socket.write(text, 'latin1')
    this.bytesOut += text.length
    this.record(r.status)
    if (close) this.endClient()
  }

  // ---- upstream side ----

  private dispatch(fresh: boolean): void {
    const ep = this.endpoint!
    this.shared.ctx.load.begin(ep.target)
    this.loadTarget = ep.target
    this.upstreamSpoke = false
    this.upstreamExtra = false
    this.resBuf = null
    const conn = this.shared.pool.acquire(ep, this, fresh)
    this.upstream = conn
    if (conn.connected) this.sendHead(conn)
  }

  onUpstreamConnect(conn: UpstreamConn): void {
    if (conn === this.upstream && this.state === St.Forward) this.sendHead(conn)
  }

  private sendHead(conn: UpstreamConn): void {
    const s = conn.socket
    s.cork()
    s.write(this.plan!.head, 'latin1')
    if (this.firstBody !== null) s.write(this.firstBody)
    s.uncork()
    this.headTimer = setTimeout(this.onHeadTimeout, this.shared.opts.responseHeadTimeoutMs)
    if (!this.reqBodyDone) this.resumeClient()
  }

  onUpstreamData(conn: UpstreamConn, chunk: Buffer): void {
    if (conn !== this.upstream || this.state !== St.Forward) return
    this.upstreamSpoke = true
    if (this.res !== null) {
      this.forwardResponseBody(chunk)
      return
    }
    let buf: Buffer = this.resBuf === null ? chunk : Buffer.concat([this.resBuf, chunk])
    this.resBuf = buf
    for (;;) {
      const r = parseResponseHead(buf, this.req!.method, this.shared.opts.headLimits)
      if (r.kind === 'incomplete') return
      if (r.kind === 'error') return this.failUpstream(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', `${r.reason}; check the endpoint speaks HTTP/1.1`))
      const head = r.head
      const rest: Buffer | null = head.headLength < buf.length ? buf.subarray(head.headLength) : null
      if (head.status === 101) {
        if (this.req!.upgrade === undefined) return this.failUpstream(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', 'endpoint switched protocols without being asked'))
        return this.upgrade(conn, head, rest)
      }
      if (head.status >= 200) return this.startResponse(head, rest)
      // Interim (1xx, e.g. 100 Continue): forwarded ahead of the final response, except to HTTP/1.0 clients.
      if (this.req!.versionMinor === 1) {
        const text = buildClientResponseHead(head, 'none')
        this.socket.write(text, 'latin1')
        this.bytesOut += text.length
      }
      this.resBuf = rest
      if (rest === null) return
      buf = rest
    }
  }

  private startResponse(res: ResponseHead, rest: Buffer | null): void {
    this.clearHeadTimer()
    this.resBuf = null
    this.res = res
    this.status = res.status
    this.resFramer.reset(res.framing)
    const n = rest === null ? 0 : this.resFramer.consume(rest, 0, rest.length)
    if (this.resFramer.error !== undefined) {
      return this.failUpstream(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', `malformed response body: ${this.resFramer.error}`))
    }
    if (rest !== null && n < rest.length) this.upstreamExtra = true
    this.closeAfter = !this.req!.keepAlive || res.framing.kind === 'until-close'
    const text = buildClientResponseHead(res, this.closeAfter ? 'close' : this.req!.versionMinor === 0 ? 'keep-alive' : 'none')
    const s = this.socket
    s.cork()
    s.write(text, 'latin1')
    const ok = n === 0 || s.write(n === rest!.length ? rest! : rest!.subarray(0, n))
    s.uncork()
    this.responseStarted = true
    this.bytesOut += text.length + n
    if (this.resFramer.done) this.finishExchange()
    else if (!ok) this.upstream!.socket.pause()
  }

  private forwardResponseBody(chunk: Buffer): void {
    const n = this.resFramer.consume(chunk, 0, chunk.length)
    let ok = true
    if (n > 0) {
      ok = this.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))
      this.bytesOut += n
    }
    if (this.resFramer.error !== undefined) return this.abort(502) // the client has a partial response; only a close says so
    if (this.resFramer.done) {
      if (n < chunk.length) this.upstreamExtra = true
      this.finishExchange()
    } else if (!ok) this.upstream!.socket.pause()
  }

  onUpstreamDrain(conn: UpstreamConn): void {
    if (conn === this.upstream && this.state === St.Forward && !this.reqBodyDone) this.resumeClient()
  }

  onUpstreamEnd(conn: UpstreamConn): void {
    if (conn !== this.upstream || this.state !== St.Forward) return
    if (this.res !== null && this.res.framing.kind === 'until-close') {
      this.resFramer.closed()
      this.finishExchange()
    } else this.upstreamLost(undefined)
  }

  onUpstreamClose(conn: UpstreamConn, err: Error | undefined): void {
    if (conn === this.upstream && this.state === St.Forward) this.upstreamLost(err)
  }

  /** The upstream connection failed or closed before the exchange completed. */
  private upstreamLost(err: Error | undefined): void {
    const conn = this.upstream!
    if (this.res !== null) return this.abort(502) // mid-response: the client must see the truncation
    if (this.upstreamSpoke) {
      return this.failUpstream(reject(502, 'NM_UPSTREAM_BAD_RESPONSE', 'endpoint closed the connection in the middle of its response head'))
    }
    this.detachUpstream()
    const neverSent = !conn.connected
    // Resending needs the whole body still in hand.
    const canResend = this.reqBodyDone && !this.bodyStreamed && !this.responseStarted
    const safe = this.plan!.idempotent || neverSent
    if (canResend && safe && conn.reused && !this.retriedPooled) {
      // A kept-alive connection the endpoint closed meanwhile: try once on a fresh one.
      this.retriedPooled = true
      return this.dispatch(true)
    }
    if (canResend && safe && !this.retriedEndpoint) {
      this.retriedEndpoint = true
      const next = pickEndpoint(this.port!.endpoints, this.shared.outstanding, this.shared.opts.random, new Set([conn.target]))
      if (next !== undefined) {
        this.endpoint = next
        return this.dispatch(false)
      }
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ETIMEDOUT') this.failUpstream(reject(504, 'NM_UPSTREAM_TIMEOUT', `connecting to ${conn.target} timed out`))
    else this.failUpstream(reject(502, 'NM_UPSTREAM_REFUSED', `${conn.target} ${code === undefined ? 'closed the connection' : `failed (${code})`} before responding; check the workload is up`))
  }

  private headTimedOut(): void {
    this.headTimer = null
    if (this.state === St.Forward && this.res === null) {
      this.failUpstream(reject(504, 'NM_UPSTREAM_TIMEOUT', `no response head from ${this.endpoint!.target} within ${this.shared.opts.responseHeadTimeoutMs} ms`))
    }
  }

  /** Answers the client with an error for this exchange and closes (the request state is unknown). */
  private failUpstream(r: HttpRejection): void {
    this.detachUpstream()
    this.state = St.Head
    this.rejectRequest(r, true)
  }

  private detachUpstream(): void {
    this.clearHeadTimer()
    this.endLoad()
    if (this.upstream !== null) this.shared.pool.discard(this.upstream)
    this.upstream = null
  }

  private finishExchange(): void {
    const conn = this.upstream!
    this.upstream = null
    this.clearHeadTimer()
    this.endLoad()
    if (this.reqBodyDone && this.res!.keepAlive && !this.upstreamExtra) this.shared.pool.release(conn)
    else this.shared.pool.discard(conn)
    // A response that ended before its request body leaves the client mid-message: close.
    if (!this.reqBodyDone) this.closeAfter = true
    this.record(this.status)
    this.req = null
    this.plan = null
    this.res = null
    this.firstBody = null
    this.state = St.Head
    if (this.closeAfter) return this.endClient()
    this.resumeClient()
    this.processPending()
  }

  private upgrade(conn: UpstreamConn, res: ResponseHead, rest: Buffer | null): void {
    this.clearHeadTimer()
    this.endLoad()
    const text = buildClientResponseHead(res, 'upgrade')
    const s = this.socket
    s.cork()
    s.write(text, 'latin1')
    if (rest !== null) s.write(rest)
    s.uncork()
    this.bytesOut += text.length
    this.status = 101
    this.record(101)
    this.state = St.Upgraded
    const up = this.shared.pool.takeOver(conn)
    this.upstream = null
    this.spliced = up
    if (this.pending !== null) up.write(this.pending)
    this.pending = null
    s.removeListener('data', this.onData)
    s.removeListener('end', this.onEnd)
    s.removeListener('close', this.onClose)
    s.removeListener('drain', this.onDrain)
    s.removeListener('timeout', this.onTimeout)
    s.setTimeout(0)
    this.clientPaused = false
    spliceSockets(s, up, () => this.shared.connections.delete(this))
    if (this.clientEnded) up.end()
  }

  // ---- bookkeeping ----

  private beginRecord(head: RequestHead | undefined): void {
    this.req = head ?? null
    this.recorded = false
    this.startedAt = performance.now()
    this.bytesIn = head?.headLength ?? 0
    this.bytesOut = 0
    this.status = 0
    this.port = undefined
    this.endpoint = undefined
    this.closeAfter = false
    this.dnsDomain = this.shared.ctx.table().dnsDomain
  }

  private record(status: number): void {
    if (this.recorded) return
    this.recorded = true
    this.shared.metrics.record({
      method: this.req?.method, path: this.req?.path, status, port: this.port, endpoint: this.endpoint?.target,
      durationMs: performance.now() - this.startedAt, bytesIn: this.bytesIn, bytesOut: this.bytesOut, client: this.client,
    }, this.dnsDomain)
  }

  private endLoad(): void {
    if (this.loadTarget !== null) {
      this.shared.ctx.load.end(this.loadTarget)
      this.loadTarget = null
    }
  }

  private clearHeadTimer(): void {
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer)
      this.headTimer = null
    }
  }
}

function noop(): void {}
