/**
 * What to do when the upstream connection failed or closed before any response byte: send the
 * request again (on a fresh connection, or on another endpoint) or answer the client with an
 * error. Pure, so the retry rules are testable without sockets.
 */
import { reject, type HttpRejection } from './http-error-response'

export interface UpstreamLossFacts {
  /** The whole request body is still in hand (none of it was streamed) and no response started. */
  readonly canResend: boolean
  /** Safe to send twice (RFC 9110 9.2.2). */
  readonly idempotent: boolean
  /** The connection never connected, so nothing reached the endpoint. */
  readonly neverSent: boolean
  /** The connection carried an exchange before: the failure may be a stale keep-alive. */
  readonly reused: boolean
  readonly retriedPooled: boolean
  readonly retriedEndpoint: boolean
}

export type UpstreamLossPlan = 'fresh-connection' | 'other-endpoint' | 'fail'

export function planUpstreamRetry(f: UpstreamLossFacts): UpstreamLossPlan {
  if (!f.canResend || !(f.idempotent || f.neverSent)) return 'fail'
  // A kept-alive connection the endpoint closed meanwhile: try once on a fresh one.
  if (f.reused && !f.retriedPooled) return 'fresh-connection'
  if (!f.retriedEndpoint) return 'other-endpoint'
  return 'fail'
}

/**
 * The answer when no retry is left; `code` is the socket error code, if any. Tunnel failures
 * (NM_ codes) carry what the peer agent said in `detail`.
 */
export function upstreamFailure(target: string, code: string | undefined, detail?: string): HttpRejection {
  if (code === 'ETIMEDOUT') return reject(504, 'NM_UPSTREAM_TIMEOUT', `connecting to ${target} timed out`)
  if (code?.startsWith('NM_') && detail) return reject(502, 'NM_UPSTREAM_REFUSED', `${target} through the tunnel: ${detail}`)
  return reject(502, 'NM_UPSTREAM_REFUSED', `${target} ${code === undefined ? 'closed the connection' : `failed (${code})`} before responding; check the workload is up`)
}
