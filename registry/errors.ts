/**
 * Errors that cross a boundary (CLI, gRPC API, logs) carry a stable code and say what to do.
 * The message always starts with the code so that a one-line CLI error is self-explanatory.
 */
export type NmErrorCode =
  | 'NM_BAD_ARGUMENT'
  | 'NM_BAD_RECORD'
  | 'NM_NOT_FOUND'
  | 'NM_ALREADY_EXISTS'
  | 'NM_VIP_EXHAUSTED'
  | 'NM_REGISTRY_UNREACHABLE'
  | 'NM_AGENT_UNREACHABLE'
  | 'NM_LEASE_EXPIRED'
  | 'NM_STATE_DIR'
  | 'NM_LISTEN_FAILED'
  | 'NM_CONFLICT'
  | 'NM_TOKEN_INVALID'
  | 'NM_PERMISSION_DENIED'
  | 'NM_CA_UNREACHABLE'
  | 'NM_NO_IDENTITY'
  | 'NM_TUNNEL_UNREACHABLE'
  | 'NM_TUNNEL_PEER_REJECTED'
  | 'NM_TUNNEL_REFUSED'
  | 'NM_CAPTURE_UNAVAILABLE'
  | 'NM_CAPTURE_NO_PRIVILEGE'
  | 'NM_CAPTURE_NO_IPTABLES'
  | 'NM_CAPTURE_RULES_FAILED'
  | 'NM_INTERNAL'

export class NmError extends Error {
  readonly code: NmErrorCode
  constructor(code: NmErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
    this.name = 'NmError'
  }
}

export function isNmError(err: unknown, code?: NmErrorCode): err is NmError {
  return err instanceof NmError && (code === undefined || err.code === code)
}
