/**
 * The node-local DNS listener: UDP and TCP on one port. Mesh names are answered from the
 * current routing table, everything else is forwarded upstream. This file is the I/O shell;
 * the decisions live in answer-dns-query.ts, decode-dns-query.ts and fit-udp-response.ts.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import os from 'node:os'
import dnsPacket, { type Packet } from 'dns-packet'
import { NmError } from '../../registry/errors'
import type { Logger } from '../observe/logger'
import type { Metrics } from '../observe/metrics'
import type { RoutingTable } from '../routing/routing-table'
import { answerDnsQuery } from './answer-dns-query'
import { RCODE, rawErrorResponse } from './build-dns-response'
import { decodeDnsQuery } from './decode-dns-query'
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-frames'
import { fitUdpResponse, udpLimitOf } from './fit-udp-response'
import { FORWARD_TIMEOUT_MS, forwardDns, isOwnListener } from './forward-dns'
import { formatUpstream, type Upstream } from './parse-upstream'

export const TCP_IDLE_TIMEOUT_MS = 10_000
/** Queries one TCP connection may have in flight before we stop reading from it. */
const TCP_MAX_IN_FLIGHT = 64

export interface DnsServerOptions {
  readonly address: string
  readonly port: number
  readonly table: () => RoutingTable
  readonly upstreams: readonly Upstream[]
  readonly metrics: Metrics
  readonly log: Logger
  readonly forwardTimeoutMs?: number
  readonly tcpIdleTimeoutMs?: number
}

export interface DnsServer {
  /** The bound port (useful when started on port 0). */
  readonly port: number
  close(): Promise<void>
}

interface Reply {
  readonly bytes: Buffer
  /** The query it answers, when it decoded: its EDNS size bounds the UDP reply. */
  readonly query?: Packet
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const { log, metrics } = opts
  const closing = new AbortController()
  const udp = dgram.createSocket({ type: net.isIPv6(opts.address) ? 'udp6' : 'udp4' })
  await listen(`udp ${opts.address}:${opts.port}`, (done) => udp.once('error', done).bind(opts.port, opts.address, () => done()))
  const port = udp.address().port
  const connections = new Set<net.Socket>()
  const tcp = net.createServer((conn) => serveTcp(conn))
  try {
    await listen(`tcp ${opts.address}:${port}`, (done) => tcp.once('error', done).listen(port, opts.address, () => done()))
  } catch (err) {
    udp.close()
    throw err
  }
  udp.removeAllListeners('error')
  tcp.removeAllListeners('error')
  udp.on('error', (err) => log.error({ err }, 'DNS UDP socket error'))
  tcp.on('error', (err) => log.error({ err }, 'DNS TCP listener error'))

  const self = { address: opts.address, port }
  const localAddresses = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
  const upstreams = opts.upstreams.filter((u) => !isOwnListener(u, self, localAddresses))
  for (const u of opts.upstreams.filter((x) => !upstreams.includes(x))) {
    log.warn({ upstream: formatUpstream(u) }, 'DNS upstream is this listener itself; skipped to avoid a forwarding loop')
  }
  if (upstreams.length === 0) log.warn('no DNS upstream: names outside the mesh will get SERVFAIL')

  const count = (type: string, outcome: string): void => metrics.dnsQueries.inc({ type, outcome })

  /** One query in, one reply out (or null to stay silent). Never throws. */
  async function handle(raw: Buffer): Promise<Reply | null> {
    const decoded = decodeDnsQuery(raw)
    if (decoded.kind === 'drop') {
      log.debug({ reason: decoded.reason }, 'DNS packet dropped')
      return null
    }
    if (decoded.kind === 'malformed') {
      log.debug({ reason: decoded.reason, id: decoded.id }, 'malformed DNS query')
      count('none', 'formerr')
      const bytes = rawErrorResponse(raw, RCODE.FORMERR)
      return bytes ? { bytes } : null
    }
    const query = decoded.packet
    const type = query.questions?.length === 1 ? query.questions[0]!.type : 'none'
    try {
      const decision = answerDnsQuery(opts.table(), query)
      if (decision.kind === 'answer') {
        count(type, decision.outcome)
        return { bytes: dnsPacket.encode(decision.response), query }
      }
      const forwarded = await forwardDns(raw, {
        upstreams, timeoutMs: opts.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS, signal: closing.signal,
      })
      if (forwarded.ok) {
        count(type, 'forward')
        return { bytes: forwarded.response, query }
      }
      log.debug({ name: query.questions?.[0]?.name, reason: forwarded.reason }, 'DNS forward failed')
    } catch (err) {
      log.warn({ err, name: query.questions?.[0]?.name }, 'DNS query failed')
    }
    count(type, 'servfail')
    const bytes = rawErrorResponse(raw, RCODE.SERVFAIL)
    return bytes ? { bytes: withQuestion(bytes, query), query } : null
  }

  udp.on('message', (msg, rinfo) => {
    void handle(msg).then((reply) => {
      if (!reply || closing.signal.aborted) return
      udp.send(fitUdpResponse(reply.bytes, udpLimitOf(reply.query)), rinfo.port, rinfo.address, (err) => {
        if (err) log.debug({ err, client: rinfo.address }, 'DNS UDP reply not sent')
      })
    })
  })

  function serveTcp(conn: net.Socket): void {
    connections.add(conn)
    const frames = new DnsFrameReader()
    let inFlight = 0
    conn.setTimeout(opts.tcpIdleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS, () => { if (inFlight === 0) conn.destroy() })
    conn.on('error', (err) => log.debug({ err }, 'DNS TCP connection error'))
    conn.on('close', () => connections.delete(conn))
    conn.on('data', (chunk: Buffer) => {
      for (const message of frames.push(chunk)) {
        // Without a readable header there is no id to answer to, nor framing to trust.
        if (message.length < 12) return void conn.destroy()
        inFlight++
        if (inFlight >= TCP_MAX_IN_FLIGHT) conn.pause()
        // Replies go out as each finishes; RFC 7766 lets them leave out of order.
        void handle(message).then((reply) => {
          inFlight--
          conn.resume()
          if (!reply || conn.destroyed) return
          conn.write(frameDnsMessage(reply.bytes))
        })
      }
    })
  }

  let closed: Promise<void> | undefined
  log.info({ address: opts.address, port, upstreams: upstreams.map(formatUpstream) }, 'DNS listening')
  return {
    port,
    close(): Promise<void> {
      // Idempotent: shutdown paths may race (signal handler and a failed start both closing).
      closed ??= (async () => {
        closing.abort()
        for (const conn of connections) conn.destroy()
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ])
      })()
      return closed
    },
  }
}

/** A header-only SERVFAIL with the question put back, so stub resolvers accept it. */
function withQuestion(header: Buffer, query: Packet): Buffer {
  try {
    const flags = header.readUInt16BE(2)
    return dnsPacket.encode({ id: query.id ?? 0, type: 'response', flags, questions: query.questions ?? [] })
  } catch {
    return header
  }
}

function listen(what: string, start: (done: (err?: Error) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    start((err) => {
      if (!err) return resolve()
      reject(new NmError('NM_LISTEN_FAILED', `DNS cannot listen on ${what} (${err.message}); choose another --dns-port or address`, { cause: err }))
    })
  })
}
