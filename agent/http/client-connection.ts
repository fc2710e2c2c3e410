/**
 * One client connection of the HTTP/1.1 proxy: the request side. Requests are handled one at
 * a time, in order: pipelined requests wait in a capped buffer (the socket is paused past the
 * cap) until the response before them is complete. The response side (`UpstreamExchange`)
 * talks to the endpoint. Decisions come from pure functions (parse, plan, rewrite, frame);
 * this class only moves bytes and keeps per-exchange state in fields, so no closure or string
 * is created per body chunk. Timeouts are deadlines checked by the proxy's periodic sweep, so
 * no timer is armed per request.
 */
import { unmapV4 } from '../address-text'
import { batchedWrite } from './write-batch'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { CompiledEndpoint, CompiledPort } from '../routing/routing-table'
import { spliceSockets } from '../tcp/splice-sockets'
import { BodyFramer } from './body-framer'
import { Phase } from './exchange-phase'
import { ExchangeRecord } from './exchange-record'
import { errorResponse, reject, type HttpErrorCode, type HttpRejection } from './http-error-response'
import type { RequestHead } from './http-head'
import { parseRequestHead } from './parse-http-head'
import { planHttpRequest, type ForwardPlan, type HttpBinding } from './plan-http-request'
import type { ProxyShared } from './proxy-shared'
import { RequestDelivery } from './request-delivery'
import { UpstreamExchange } from './upstream-exchange'
import type { UpstreamDelivery } from './upstream-pool'

const PARSE_CODES: Record<number, HttpErrorCode> = { 400: 'NM_BAD_REQUEST', 431: 'NM_HEADERS_TOO_LARGE', 505: 'NM_HTTP_VERSION_UNSUPPORTED' }

export class ClientConnection {
  phase: Phase = Phase.Head
  readonly shared: ProxyShared
  private readonly socket: Duplex
  private readonly binding: HttpBinding
  private readonly client: string
  /** Client bytes received but not yet consumed (a partial head, or pipelined requests). */
  private pending: Buffer | null = null
  private clientEnded = false
  private clientPaused = false
  /** When the connection last became idle (no exchange in flight); checked by `sweep`. */
  private idleSince: number

  // The exchange in flight, read by the response side.
  req: RequestHead | null = null
  plan: ForwardPlan | null = null
  port: CompiledPort | undefined = undefined
  endpoint: CompiledEndpoint | undefined = undefined
  /** How the endpoint of the exchange in flight is reached (set by `deliverTo`). */
  delivery: UpstreamDelivery | null = null
  private readonly deliveries: RequestDelivery
  /** Body bytes that came with the head; kept so the request can be sent again. */
  firstBody: Buffer | null = null
  reqBodyDone = false
  bodyStreamed = false
  /** Close the client connection once this exchange is over. */
  closeAfter = false
  /** What the access log and metrics say about the exchange in flight. */
  readonly record: ExchangeRecord
  private readonly reqFramer = new BodyFramer()
  private readonly up: UpstreamExchange

  private readonly onData = this.onClientData.bind(this)
  private readonly onEnd = this.onClientEnd.bind(this)
  private readonly onClose = this.onClientClose.bind(this)
  private readonly onDrain = this.onClientDrain.bind(this)

  constructor(shared: ProxyShared, socket: Duplex, binding: HttpBinding, clientAddress?: string) {
    this.shared = shared
    this.socket = socket
    this.binding = binding
    const addr = clientAddress ?? (socket as net.Socket).remoteAddress ?? 'unknown'
    this.client = unmapV4(addr)
    this.record = new ExchangeRecord(shared.metrics, this.client, binding.kind === 'inbound' ? 'destination' : 'source')
    this.up = new UpstreamExchange(this)
    this.deliveries = new RequestDelivery(shared.ctx, binding, this.client)
    this.idleSince = performance.now()
    // Half-open: a client may send its request, close its side, and still read the answer.
    socket.allowHalfOpen = true
    if (socket instanceof net.Socket) socket.setNoDelay(true)
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
    socket.on('error', noop) // 'close' follows and does the cleanup
  }

  destroy(): void {
    this.socket.destroy()
    this.up.destroySpliced()
  }

  /** Enforces the deadlines (called by the proxy's sweep with the current time). */
  sweep(now: number): void {
    const phase = this.phase
    // Only idle connections (between requests or after our FIN) time out; a slow upstream has its own deadline.
    if (phase === Phase.Head || phase === Phase.Closed) {
      if (now - this.idleSince >= this.shared.opts.clientIdleTimeoutMs) this.socket.destroy()
    } else if (phase === Phase.Forward) this.up.sweep(now)
  }

  // ---- client socket events ----

  private onClientData(chunk: Buffer): void {
    if (this.phase === Phase.Head) {
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
      this.idleSince = performance.now()
      // A head can only complete in a chunk holding a line feed.
      if (chunk.indexOf(0x0a) !== -1 || this.pending.length > this.shared.opts.headLimits.maxHeadBytes) this.processPending()
    } else if (this.phase === Phase.Forward) {
      if (!this.reqBodyDone) this.forwardBody(chunk)
      else this.bufferNext(chunk)
    }
  }

  private forwardBody(chunk: Buffer): void {
    const n = this.reqFramer.consume(chunk, 0, chunk.length)
    if (n > 0) {
      this.bodyStreamed = true
      this.record.bytesIn += n
      if (!this.up.writeBody(n === chunk.length ? chunk : chunk.subarray(0, n))) this.pauseClient()
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

  private onClientEnd(): void {
    this.clientEnded = true
    if (this.phase === Phase.Head) this.processPending()
    else if (this.phase === Phase.Forward && !this.reqBodyDone) this.abort(400) // truncated request body
  }

  private onClientDrain(): void {
    if (this.phase === Phase.Forward) this.up.resumeUpstream()
  }

  private onClientClose(): void {
    const wasForwarding = this.phase === Phase.Forward
    this.phase = Phase.Closed
    this.up.detach()
    // 499 (client closed request), as nginx logs it.
    if (wasForwarding) this.writeRecord(this.record.status !== 0 ? this.record.status : 499)
    this.shared.connections.delete(this)
  }

  // ---- requests ----

  private processPending(): void {
    while (this.phase === Phase.Head) {
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
        this.beginExchange(undefined, this.pending.length, this.shared.ctx.table().dnsDomain)
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
    const shared = this.shared
    const table = shared.ctx.table()
    this.beginExchange(head, head.headLength, table.dnsDomain)
    const plan = planHttpRequest({ table, binding: this.binding, head, clientAddress: this.client, outstanding: shared.outstanding, random: shared.opts.random })
    if (plan.kind === 'reject') {
      this.port = plan.port
      // Without a body to skip, the connection can serve the next request (a refused CONNECT is done).
      const close = !head.keepAlive || head.framing.kind !== 'none' || head.method === 'CONNECT'
      this.pending = rest
      this.rejectRequest(plan, close)
      return
    }
    this.plan = plan
    this.port = plan.port
    const refused = this.deliverTo(plan.endpoint)
    if (refused !== undefined) {
      this.pending = rest
      this.rejectRequest(refused, !head.keepAlive || head.framing.kind !== 'none')
      return
    }
    this.phase = Phase.Forward
    this.reqFramer.reset(head.framing)
    this.firstBody = null
    if (rest !== null) {
      const n = this.reqFramer.consume(rest, 0, rest.length)
      if (this.reqFramer.error !== undefined) {
        this.phase = Phase.Head
        this.rejectRequest(reject(400, 'NM_BAD_REQUEST', `malformed body: ${this.reqFramer.error}`), true)
        return
      }
      if (n > 0) this.firstBody = n === rest.length ? rest : rest.subarray(0, n)
      if (n < rest.length) this.pending = rest.subarray(n)
      this.record.bytesIn += n
    }
    this.reqBodyDone = this.reqFramer.done
    this.bodyStreamed = false
    // The rest of the body waits in the kernel until the head is on its way upstream.
    if (!this.reqBodyDone) this.pauseClient()
    this.up.start()
  }

  /**
   * Plans how `endpoint` is reached for the request in flight: directly (authorized here) or
   * through the tunnel. Returns the rejection to answer instead, if any.
   */
  deliverTo(endpoint: CompiledEndpoint): HttpRejection | undefined {
    this.endpoint = endpoint
    const out = this.deliveries.plan(this.port!, endpoint, { method: this.req!.method, target: this.req!.path })
    this.record.sourceIdentity = out.source
    this.delivery = out.ok ? out.delivery : null
    return out.ok ? undefined : out.rejection
  }

  /** Answers the client with a response of the proxy's own; `close` ends the connection after it. */
  rejectRequest(r: HttpRejection, close: boolean): void {
    const text = errorResponse(r, close)
    this.socket.write(text, 'latin1')
    this.record.bytesOut += text.length
    this.writeRecord(r.status)
    if (close) this.endClient()
    else this.idleSince = performance.now()
  }

  /** Ends the exchange with an error answer and closes (the request state is unknown). */
  failExchange(r: HttpRejection): void {
    this.phase = Phase.Head
    this.rejectRequest(r, true)
  }

  /**
   * Ends the exchange and both connections (mid-body failures). `status` is what the access
   * log records when no response had started.
   */
  abort(status: number): void {
    this.up.detach()
    this.writeRecord(this.record.status !== 0 ? this.record.status : status)
    this.phase = Phase.Closed
    this.socket.destroy()
  }

  /** The response is complete (the response side has released the upstream connection). */
  exchangeDone(): void {
    // A response that ended before its request body leaves the client mid-message: close.
    if (!this.reqBodyDone) this.closeAfter = true
    this.writeRecord(this.record.status)
    this.req = null
    this.plan = null
    this.firstBody = null
    this.phase = Phase.Head
    if (this.closeAfter) return this.endClient()
    this.resumeClient()
    this.processPending()
    if (this.phase === Phase.Head) this.idleSince = performance.now()
  }

  /** After a 101: hands the client socket to a raw splice with the upstream socket. */
  spliceTo(up: Duplex): void {
    this.writeRecord(101)
    this.phase = Phase.Upgraded
    if (this.pending !== null) up.write(this.pending)
    this.pending = null
    const s = this.socket
    s.removeListener('data', this.onData)
    s.removeListener('end', this.onEnd)
    s.removeListener('close', this.onClose)
    s.removeListener('drain', this.onDrain)
    this.clientPaused = false
    spliceSockets(s, up, () => this.shared.connections.delete(this))
    if (this.clientEnded) up.end()
  }

  /** Writes response bytes to the client, counting them; false when the socket buffer is full. */
  writeClient(buf: Buffer): boolean {
    this.record.bytesOut += buf.length
    return batchedWrite(this.socket, buf)
  }

  pauseClient(): void {
    if (!this.clientPaused) {
      this.clientPaused = true
      this.socket.pause()
    }
  }

  resumeClient(): void {
    if (this.clientPaused) {
      this.clientPaused = false
      this.socket.resume()
    }
  }

  private endClient(): void {
    this.phase = Phase.Closed
    this.idleSince = performance.now()
    this.socket.end()
  }

  // ---- exchange state ----

  /** Starts the next exchange (`head` undefined for a head that did not parse). */
  private beginExchange(head: RequestHead | undefined, bytesIn: number, dnsDomain: string): void {
    this.req = head ?? null
    this.port = undefined
    this.endpoint = undefined
    this.closeAfter = false
    this.record.begin(bytesIn, dnsDomain)
  }

  private writeRecord(status: number): void {
    this.record.write(status, this.req, this.port, this.endpoint)
  }
}

function noop(): void {}
