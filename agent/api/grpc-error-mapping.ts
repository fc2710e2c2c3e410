/**
 * NmError <-> gRPC status. The server sends the NmError code in the `nm-code` trailer and the
 * full NmError message as details, so the client rebuilds the very same NmError; the gRPC
 * status code is chosen so that generic gRPC tooling also sees a sensible category.
 */
import { status as GrpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js'
import { NmError, type NmErrorCode } from '../../registry/errors'

export const NM_CODE_METADATA_KEY = 'nm-code'

const TO_GRPC: Record<NmErrorCode, GrpcStatus> = {
  NM_BAD_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NM_BAD_RECORD: GrpcStatus.INVALID_ARGUMENT,
  NM_NOT_FOUND: GrpcStatus.NOT_FOUND,
  NM_ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  NM_VIP_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  NM_REGISTRY_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  NM_AGENT_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  NM_LEASE_EXPIRED: GrpcStatus.FAILED_PRECONDITION,
  NM_STATE_DIR: GrpcStatus.INTERNAL,
  NM_LISTEN_FAILED: GrpcStatus.INTERNAL,
  NM_CONFLICT: GrpcStatus.FAILED_PRECONDITION,
  NM_TOKEN_INVALID: GrpcStatus.UNAUTHENTICATED,
  NM_PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  NM_CA_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  NM_NO_IDENTITY: GrpcStatus.FAILED_PRECONDITION,
  NM_TUNNEL_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  NM_TUNNEL_PEER_REJECTED: GrpcStatus.UNAUTHENTICATED,
  NM_TUNNEL_REFUSED: GrpcStatus.PERMISSION_DENIED,
  NM_CAPTURE_UNAVAILABLE: GrpcStatus.FAILED_PRECONDITION,
  NM_CAPTURE_NO_PRIVILEGE: GrpcStatus.PERMISSION_DENIED,
  NM_CAPTURE_NO_IPTABLES: GrpcStatus.FAILED_PRECONDITION,
  NM_CAPTURE_RULES_FAILED: GrpcStatus.INTERNAL,
  NM_INTERNAL: GrpcStatus.INTERNAL,
}

const NM_CODES = new Set<string>(Object.keys(TO_GRPC))

export function isNmErrorCode(s: string): s is NmErrorCode {
  return NM_CODES.has(s)
}

export function grpcStatusOf(code: NmErrorCode): GrpcStatus {
  return TO_GRPC[code]
}

export interface GrpcErrorReply {
  readonly code: GrpcStatus
  readonly details: string
  readonly metadata: Metadata
}

/** The reply for a failed call; anything that is not an NmError becomes NM_INTERNAL. */
export function toGrpcError(err: unknown): GrpcErrorReply {
  const nm = err instanceof NmError
    ? err
    : new NmError('NM_INTERNAL', `the agent failed: ${err instanceof Error ? err.message : String(err)}; see the agent's log`)
  const metadata = new Metadata()
  metadata.set(NM_CODE_METADATA_KEY, nm.code)
  return { code: grpcStatusOf(nm.code), details: nm.message, metadata }
}

/** No agent to take the call on `socketPath`: what to do instead. */
export function agentUnreachable(socketPath: string, options?: { cause?: unknown }): NmError {
  return new NmError('NM_AGENT_UNREACHABLE',
    `no agent is listening on ${socketPath}: start one with \`nodemesh agent\`, or point the CLI at the registry with --redis URL`, options)
}

const FROM_GRPC: Partial<Record<GrpcStatus, NmErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 'NM_BAD_ARGUMENT',
  [GrpcStatus.NOT_FOUND]: 'NM_NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'NM_ALREADY_EXISTS',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'NM_VIP_EXHAUSTED',
  [GrpcStatus.FAILED_PRECONDITION]: 'NM_CONFLICT',
}

/** Rebuilds the NmError a server sent, or names the failure to reach the agent. */
export function fromGrpcError(err: ServiceError, socketPath: string): NmError {
  const sent = err.metadata?.get(NM_CODE_METADATA_KEY)[0]
  const details = err.details ?? ''
  const prefixed = /^(NM_[A-Z_]+): ([\s\S]*)$/.exec(details)
  const code = typeof sent === 'string' && isNmErrorCode(sent) ? sent
    : prefixed && isNmErrorCode(prefixed[1]) ? prefixed[1] : undefined
  if (code === undefined) {
    // No code from a server: the connection itself failed or the agent did not answer in time.
    if (err.code === GrpcStatus.UNAVAILABLE) return agentUnreachable(socketPath, { cause: err })
    if (err.code === GrpcStatus.DEADLINE_EXCEEDED) {
      return new NmError('NM_AGENT_UNREACHABLE', `the agent on ${socketPath} did not answer in time: check its log, or retry`, { cause: err })
    }
    const guessed = FROM_GRPC[err.code] ?? 'NM_INTERNAL'
    return new NmError(guessed, details || `the agent call failed with gRPC status ${err.code}`, { cause: err })
  }
  const message = prefixed && prefixed[1] === code ? prefixed[2] : details
  return new NmError(code, message, { cause: err })
}
