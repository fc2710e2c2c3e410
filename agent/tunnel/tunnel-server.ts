/**
 * The inbound tunnel (port 15008): HTTP/2 CONNECT over TLS 1.3 with a client certificate
 * required. TLS checks the chain against the bundle; each new HTTP/2 session then has its
 * peer's SPIFFE ID checked, and each CONNECT is planned (`planInbound`) and either refused
 * with a coded status or handed to `onDeliver` (authorization, then TCP or the L7 proxy).
 */
import { joinHostPort } from '../address-text'
import http2 from 'node:http2'
import type net from 'node:net'
import type tls from 'node:tls'
import type { CertSource } from '../identity/cert-source'
import type { SpiffeId } from '../identity/spiffe'
import type { Logger } from '../observe/logger'
import type { RoutingTable } from '../routing/routing-table'
import { planInbound, type InboundPlan } from './plan-inbound'
import { identityForSni } from './sni-for-identity'
import { TUNNEL_HTTP2_SETTINGS, TUNNEL_MAX_SESSION_MEMORY_MB, TUNNEL_SESSION_WINDOW } from './tunnel-settings'
import { verifyPeerCertificate } from './verify-peer'

export const ERROR_HEADER = 'x-nodemesh-error'

export interface InboundDelivery {
  readonly stream: http2.ServerHttp2Stream
  readonly plan: Extract<InboundPlan, { kind: 'deliver' }>
  readonly peer: SpiffeId
  /** Answers the CONNECT; any status but 2xx also ends the stream. Only the first call counts. */
  readonly respond: (status: number, headers?: Record<string, string>) => void
}

export interface TunnelServerOptions {
  readonly address: string
  readonly port: number
  readonly certs: CertSource
  readonly trustDomain: string
  readonly localNode: string
  readonly agentPorts: readonly number[]
  readonly table: () => RoutingTable
  readonly onDeliver: (d: InboundDelivery) => void
  readonly log: Logger
  /** A session with no open stream for this long is closed (the clients' pools close first). */
  readonly idleTimeoutMs?: number
  readonly handshakeTimeoutMs?: number
}

export interface TunnelServerStats {
  /** TLS handshakes completed (certificate chain accepted). */
  readonly secureConnections: number
  /** Handshakes that failed: no or untrusted client certificate, wrong version, not TLS. */
  readonly handshakeFailures: number
  /** Sessions destroyed because the peer's SPIFFE ID was refused. */
  readonly rejectedPeers: number
  readonly openSessions: number
}

export interface TunnelServer {
  readonly port: number
  stats(): TunnelServerStats
  close(): Promise<void>
}

interface SessionState {
  readonly peer: SpiffeId
  streams: number
  idle: NodeJS.Timeout | undefined
}

export async function startTunnelServer(opts: TunnelServerOptions): Promise<TunnelServer> {
  const { certs, log } = opts
  const idleTimeoutMs = opts.idleTimeoutMs ?? 5 * 60_000
  const sessions = new Map<http2.ServerHttp2Session, SessionState | undefined>()
  const counts = { secureConnections: 0, handshakeFailures: 0, rejectedPeers: 0 }
  // Set once listening, before any stream arrives: planInbound refuses CONNECTs to it.
  let tunnelAddress = ''

  const server = http2.createSecureServer({
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    ca: certs.trustBundlePem(),
    allowHTTP1: false,
    handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
    settings: TUNNEL_HTTP2_SETTINGS,
    maxSessionMemory: TUNNEL_MAX_SESSION_MEMORY_MB,
    // The context of the identity the client asked for; it trusts the current bundle, so a
    // rotated bundle or certificate applies to the next handshake.
    SNICallback: (servername, cb) => {
      const identity = identityForSni(servername, certs.list().map((c) => c.identity), certs.nodeIdentity())
      const ctx = certs.secureContext(identity)
      if (ctx === undefined) cb(new Error(`no certificate held for ${identity}`), undefined)
      else cb(null, ctx)
    },
  })

  // Every raw connection, so that close() does not wait for handshakes in progress.
  const sockets = new Set<net.Socket>()
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('secureConnection', () => { counts.secureConnections++ })
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    counts.handshakeFailures++
    // A refused client certificate shows as a hang-up; the verification result says why.
    log.info({ peerAddress: socket.remoteAddress, error: err.code ?? err.message, authorizationError: socket.authorizationError }, 'tunnel handshake refused')
  })
  // ALPN other than h2: no HTTP/1.1 fallback, drop at once.
  server.on('unknownProtocol', (socket: tls.TLSSocket) => socket.destroy())
  server.on('sessionError', (err: Error) => log.debug({ err }, 'tunnel session error'))

  server.on('session', (session: http2.ServerHttp2Session) => {
    const socket = session.socket as tls.TLSSocket
    const x509 = socket.getPeerX509Certificate()
    const verdict = !socket.authorized ? { ok: false as const, reason: `client certificate not trusted: ${String(socket.authorizationError)}` }
      : x509 === undefined ? { ok: false as const, reason: 'no client certificate' }
        : verifyPeerCertificate(x509, { trustDomain: opts.trustDomain })
    if (!verdict.ok) {
      counts.rejectedPeers++
      log.warn({ peerAddress: socket.remoteAddress, reason: verdict.reason }, 'tunnel peer refused')
      sessions.set(session, undefined)
      session.on('close', () => sessions.delete(session))
      session.destroy()
      return
    }
    const state: SessionState = { peer: verdict.identity, streams: 0, idle: undefined }
    sessions.set(session, state)
    session.on('error', () => { /* reported by sessionError */ })
    session.on('close', () => {
      if (state.idle) clearTimeout(state.idle)
      sessions.delete(session)
    })
    session.on('connect', () => session.setLocalWindowSize(TUNNEL_SESSION_WINDOW))
    armIdle(session, state)
  })

  function armIdle(session: http2.ServerHttp2Session, state: SessionState): void {
    if (state.idle) clearTimeout(state.idle)
    state.idle = state.streams > 0 ? undefined : setTimeout(() => session.close(), idleTimeoutMs).unref()
  }

  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', (err) => log.debug({ err }, 'tunnel stream error'))
    const state = sessions.get(stream.session as http2.ServerHttp2Session)
    if (state === undefined) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM)
      return
    }
    state.streams++
    armIdle(stream.session as http2.ServerHttp2Session, state)
    stream.on('close', () => {
      state.streams--
      if (!(stream.session?.destroyed ?? true)) armIdle(stream.session as http2.ServerHttp2Session, state)
    })
    const authority = headers[':authority']
    const plan = planInbound({
      table: opts.table(), localNode: opts.localNode, tunnelAddress,
      agentPorts: opts.agentPorts, method: String(headers[':method'] ?? ''), authority,
    })
    if (plan.kind === 'reject') {
      log.info({ peer: state.peer.uri, authority, status: plan.status, code: plan.code, reason: plan.reason }, 'tunnel stream refused')
      respondOnce(stream, plan.status, { [ERROR_HEADER]: plan.code })
      return
    }
    opts.onDeliver({ stream, plan, peer: state.peer, respond: (status, h) => respondOnce(stream, status, h) })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const boundPort = (server.address() as net.AddressInfo).port
  tunnelAddress = joinHostPort(opts.address, boundPort)
  server.on('error', (err) => log.error({ err }, 'tunnel listener error'))

  return {
    port: boundPort,
    stats: () => ({ ...counts, openSessions: sessions.size }),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const session of sessions.keys()) session.destroy()
      for (const socket of sockets) socket.destroy()
    }),
  }
}

function respondOnce(stream: http2.ServerHttp2Stream, status: number, headers: Record<string, string> = {}): void {
  if (stream.headersSent || stream.closed || stream.destroyed) return
  const ok = status >= 200 && status < 300
  stream.respond({ ...headers, ':status': status }, { endStream: !ok })
}
