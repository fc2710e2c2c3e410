/**
 * The outbound side of the tunnel: one HTTP/2 session per (source identity, destination
 * node, destination identity), each new TCP connection through the mesh a CONNECT stream on
 * it. The client presents the source identity's current certificate, asks for the
 * destination identity by SNI, and accepts the server only if its certificate carries exactly
 * that SPIFFE ID. Sessions with no open stream are closed after a while; a session that
 * fails or goes away is dropped and the next open dials anew.
 */
import crypto from 'node:crypto'
import http2 from 'node:http2'
import tls from 'node:tls'
import { NmError, isNmError } from '../../registry/errors'
import type { CertSource } from '../identity/cert-source'
import type { Logger } from '../observe/logger'
import { sniForIdentity } from './sni-for-identity'
import { ERROR_HEADER } from './tunnel-server'
import { TUNNEL_HTTP2_SETTINGS, TUNNEL_MAX_SESSION_MEMORY_MB, TUNNEL_SESSION_WINDOW } from './tunnel-settings'
import { verifyPeerCertificate } from './verify-peer'

export interface TunnelOpenRequest {
  readonly sourceIdentity: string
  readonly destNode: string
  /** `host:port` of the peer agent's tunnel listener. */
  readonly destAddress: string
  readonly destIdentity: string
  /** The destination workload's `IP:PORT`, sent as `:authority`. */
  readonly target: string
}

export interface TunnelPool {
  /** A CONNECT stream to `target`, resolved once the peer answered 200. */
  open(req: TunnelOpenRequest): Promise<http2.ClientHttp2Stream>
  /** Sessions held (connecting or connected). */
  sessions(): number
  close(): Promise<void>
}

export interface TunnelPoolOptions {
  readonly certs: CertSource
  readonly trustDomain: string
  readonly log: Logger
  readonly idleTimeoutMs?: number
  /** Bounds the dial (TCP + TLS + HTTP/2 settings) and, separately, the wait for the CONNECT answer. */
  readonly connectTimeoutMs?: number
}

/** NM_TUNNEL_REFUSED with what the peer said. */
export class TunnelRefusedError extends NmError {
  readonly status: number
  readonly peerCode: string | undefined
  constructor(status: number, peerCode: string | undefined, message: string) {
    super('NM_TUNNEL_REFUSED', message)
    this.status = status
    this.peerCode = peerCode
  }
}

interface Entry {
  readonly key: string
  readonly destAddress: string
  readonly ready: Promise<http2.ClientHttp2Session>
  session: http2.ClientHttp2Session | undefined
  streams: number
  idle: NodeJS.Timeout | undefined
}

export function createTunnelPool(opts: TunnelPoolOptions): TunnelPool {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000
  const entries = new Map<string, Entry>()
  const sockets = new Set<tls.TLSSocket>()
  let closed = false

  function drop(entry: Entry): void {
    if (entries.get(entry.key) === entry) entries.delete(entry.key)
    if (entry.idle) clearTimeout(entry.idle)
  }

  function armIdle(entry: Entry): void {
    if (entry.idle) clearTimeout(entry.idle)
    entry.idle = undefined
    if (entry.streams > 0 || entry.session === undefined) return
    const session = entry.session
    entry.idle = setTimeout(() => {
      drop(entry)
      session.close()
    }, idleTimeoutMs).unref()
  }

  function dial(key: string, req: TunnelOpenRequest, context: tls.SecureContext): Entry {
    let entry: Entry
    const ready = new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer)
        drop(entry)
        session.destroy()
        socket.destroy()
        reject(err)
      }
      const timer = setTimeout(() => {
        fail(new NmError('NM_TUNNEL_UNREACHABLE', `no tunnel to ${req.destNode} at ${req.destAddress} within ${connectTimeoutMs} ms: check that its agent runs and that the port is reachable`))
      }, connectTimeoutMs)
      // The TLS socket is ours, not http2's, so that it can always be closed: a session that
      // fails during setup may neither close its socket nor emit 'close'.
      const { host, port } = splitHostPort(req.destAddress)
      const socket = tls.connect({
        host, port, secureContext: context, servername: sniForIdentity(req.destIdentity), ALPNProtocols: ['h2'],
        minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', rejectUnauthorized: true,
        // Chain already checked against the bundle; the SPIFFE ID is what names the server.
        checkServerIdentity: (_host, cert) => {
          const v = verifyPeerCertificate(new crypto.X509Certificate(cert.raw), { trustDomain: opts.trustDomain, expect: req.destIdentity })
          return v.ok ? undefined : peerRejected(req, v.reason)
        },
      })
      sockets.add(socket)
      const session = http2.connect(`https://${req.destAddress}`, {
        createConnection: () => socket, settings: TUNNEL_HTTP2_SETTINGS, maxSessionMemory: TUNNEL_MAX_SESSION_MEMORY_MB,
      })
      const gone = (why: string) => {
        if (entry.session === undefined) fail(new NmError('NM_TUNNEL_UNREACHABLE', `the agent at ${req.destAddress} (node ${req.destNode}) ${why}`))
        drop(entry)
      }
      socket.once('close', () => {
        sockets.delete(socket)
        gone('closed the connection during setup: is our certificate trusted there?')
      })
      session.on('close', () => {
        socket.destroy()
        gone('closed the session during setup')
      })
      session.on('goaway', () => drop(entry))
      session.on('error', (err: Error) => {
        opts.log.debug({ err, destNode: req.destNode, destAddress: req.destAddress }, 'tunnel session error')
        if (entry.session === undefined) {
          fail(isNmError(err) ? err : new NmError('NM_TUNNEL_UNREACHABLE', `tunnel to ${req.destNode} at ${req.destAddress} failed: ${err.message}`, { cause: err }))
        }
        drop(entry)
      })
      socket.once('secureConnect', () => {
        // Checked again on the live socket: a context made elsewhere may allow other versions.
        const x509 = socket.getPeerX509Certificate()
        const v = x509 === undefined ? { ok: false as const, reason: 'no server certificate' }
          : verifyPeerCertificate(x509, { trustDomain: opts.trustDomain, expect: req.destIdentity })
        const problem = !v.ok ? v.reason : socket.getProtocol() !== 'TLSv1.3' ? `negotiated ${socket.getProtocol()}, TLSv1.3 required`
          : socket.alpnProtocol !== 'h2' ? 'ALPN h2 not negotiated' : undefined
        if (problem !== undefined) fail(peerRejected(req, problem))
      })
      session.once('connect', () => {
        if (session.destroyed || socket.destroyed) return
        clearTimeout(timer)
        session.setLocalWindowSize(TUNNEL_SESSION_WINDOW)
        entry.session = session
        armIdle(entry)
        resolve(session)
      })
    })
    entry = { key, destAddress: req.destAddress, ready, session: undefined, streams: 0, idle: undefined }
    ready.catch(() => { /* reported to every open() waiting on it */ })
    return entry
  }

  function entryFor(req: TunnelOpenRequest): Entry {
    const key = JSON.stringify([req.sourceIdentity, req.destNode, req.destIdentity])
    const existing = entries.get(key)
    const usable = existing !== undefined && existing.destAddress === req.destAddress
      && (existing.session === undefined || !(existing.session.closed || existing.session.destroyed))
    if (usable) return existing
    if (existing !== undefined) {
      // The node moved: new streams go to the new address, the old session ends when its streams do.
      drop(existing)
      existing.session?.close()
    }
    const context = opts.certs.secureContext(req.sourceIdentity)
    if (context === undefined) {
      throw new NmError('NM_NO_IDENTITY', `no certificate held for ${req.sourceIdentity}: the identity is not (yet) issued to this node`)
    }
    const entry = dial(key, req, context)
    entries.set(key, entry)
    return entry
  }

  async function open(req: TunnelOpenRequest, retried = false): Promise<http2.ClientHttp2Stream> {
    if (closed) throw new NmError('NM_TUNNEL_UNREACHABLE', 'the tunnel pool is closed')
    const entry = entryFor(req)
    const session = await entry.ready
    if (session.closed || session.destroyed) {
      // Went away (GOAWAY, idle close) between dial and use: dial once more.
      drop(entry)
      if (!retried) return open(req, true)
      throw new NmError('NM_TUNNEL_UNREACHABLE', `the tunnel to ${req.destNode} at ${req.destAddress} closed before use`)
    }
    const stream = session.request({ ':method': 'CONNECT', ':authority': req.target })
    entry.streams++
    armIdle(entry)
    stream.once('close', () => {
      entry.streams--
      armIdle(entry)
    })
    return awaitResponse(stream, req, connectTimeoutMs)
  }

  return {
    open,
    sessions: () => entries.size,
    close: async () => {
      closed = true
      for (const e of entries.values()) drop(e)
      await Promise.all([...sockets].map((socket) => new Promise<void>((resolve) => {
        socket.once('close', () => resolve())
        socket.destroy()
      })))
    },
  }
}

/** `host:port` or `[v6]:port`. */
function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address)
  if (m === null) throw new NmError('NM_BAD_ARGUMENT', `tunnel address ${JSON.stringify(address)} is not host:port`)
  return { host: m[1] as string, port: Number(m[2]) }
}

function peerRejected(req: TunnelOpenRequest, reason: string): NmError {
  return new NmError('NM_TUNNEL_PEER_REJECTED', `the agent at ${req.destAddress} (node ${req.destNode}) is not ${req.destIdentity}: ${reason}`)
}

function awaitResponse(stream: http2.ClientHttp2Stream, req: TunnelOpenRequest, timeoutMs: number): Promise<http2.ClientHttp2Stream> {
  // Errors after the answer belong to whoever uses the stream; until then they reject here.
  stream.on('error', () => {})
  return new Promise((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer)
      stream.off('error', onError)
      stream.off('close', onClose)
    }
    const onError = (err: Error) => {
      settle()
      reject(new NmError('NM_TUNNEL_UNREACHABLE', `CONNECT ${req.target} via ${req.destNode} failed: ${err.message}`, { cause: err }))
    }
    const onClose = () => onError(new Error(`stream closed before an answer (code ${stream.rstCode})`))
    const timer = setTimeout(() => {
      settle()
      stream.close(http2.constants.NGHTTP2_CANCEL)
      reject(new NmError('NM_TUNNEL_UNREACHABLE', `no answer from ${req.destNode} to CONNECT ${req.target} within ${timeoutMs} ms`))
    }, timeoutMs)
    stream.once('error', onError)
    stream.once('close', onClose)
    stream.once('response', (headers) => {
      settle()
      const status = Number(headers[':status'])
      if (status === 200) {
        resolve(stream)
        return
      }
      const sent = headers[ERROR_HEADER]
      const code = typeof sent === 'string' ? sent : undefined
      stream.close(http2.constants.NGHTTP2_CANCEL)
      reject(new TunnelRefusedError(status, code, `peer answered ${status} ${code ?? 'without a code'}: ${req.destNode} refused CONNECT to ${req.target}`))
    })
  })
}
