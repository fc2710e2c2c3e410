/**
 * Client of `nodemesh ca serve`. Without a node credential only JoinNode works; with one, the
 * connection presents it as the TLS client certificate. A credential is fixed per client:
 * after renewing it, open a new client.
 */
import * as grpc from '@grpc/grpc-js'
import { CA_SERVICE_NAME } from './server-names'
import { isNmErrorCode, NM_CODE_METADATA_KEY } from '../agent/api/grpc-error-mapping'
import { NmError } from '../registry/errors'
import type { CertResponse } from './issuer'
import { caServiceDefinition } from './load-ca-proto'

export const DEFAULT_CA_DEADLINE_MS = 10_000

export interface CaClientOptions {
  /** HOST:PORT of `ca serve`; HOST must be one of its server names. */
  readonly address: string
  /** The mesh root(s), PEM: the CA's server certificate must chain to it. */
  readonly trustBundlePem: string
  readonly nodeCredential?: { readonly keyPem: string; readonly certChainPem: string }
  readonly deadlineMs?: number
}

export interface CaClient {
  joinNode(token: string, node: string, csrPem: string): Promise<CertResponse>
  renewNode(csrPem: string): Promise<CertResponse>
  signWorkload(csrPem: string, identity: string): Promise<CertResponse>
  close(): void
}

type Unary = (req: object, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void

export function connectCa(opts: CaClientOptions): CaClient {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_CA_DEADLINE_MS
  const creds = opts.nodeCredential
    ? grpc.credentials.createSsl(Buffer.from(opts.trustBundlePem), Buffer.from(opts.nodeCredential.keyPem), Buffer.from(opts.nodeCredential.certChainPem))
    : grpc.credentials.createSsl(Buffer.from(opts.trustBundlePem))
  const Ctor = grpc.makeGenericClientConstructor(caServiceDefinition(), 'MeshCa')
  const client = new Ctor(opts.address, creds, { 'grpc.ssl_target_name_override': CA_SERVICE_NAME, 'grpc.default_authority': CA_SERVICE_NAME }) as unknown as grpc.Client & Record<string, Unary>

  const call = (method: string, req: object): Promise<CertResponse> => new Promise((resolve, reject) => {
    client[method]!.call(client, req, { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err) reject(caError(err, opts.address))
      else resolve(res as CertResponse)
    })
  })

  return {
    joinNode: (token, node, csrPem) => call('JoinNode', { token, node, csrPem }),
    renewNode: (csrPem) => call('RenewNode', { csrPem }),
    signWorkload: (csrPem, identity) => call('SignWorkload', { csrPem, identity }),
    close: () => client.close(),
  }
}

/** The CA's own NmError when it sent one; otherwise the call never reached a working CA. */
export function caError(err: grpc.ServiceError, address: string): NmError {
  const sent = err.metadata?.get(NM_CODE_METADATA_KEY)[0]
  const details = err.details ?? ''
  if (typeof sent === 'string' && isNmErrorCode(sent)) {
    const prefix = `${sent}: `
    return new NmError(sent, details.startsWith(prefix) ? details.slice(prefix.length) : details, { cause: err })
  }
  return new NmError('NM_CA_UNREACHABLE',
    `cannot reach the CA at ${address} (${details || `gRPC status ${err.code}`}): check --ca-address, that \`nodemesh ca serve\` runs there and that its certificate names that host (--server-name)`,
    { cause: err })
}
