/**
 * `nodemesh ca serve`: the issuer as a gRPC service over TLS. Its server certificate is made
 * at start from a fresh key and kept in memory only. JoinNode is authenticated by the join
 * token; RenewNode and SignWorkload by the caller's node certificate.
 */
import { X509Certificate, createPublicKey } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { shutdownGrpcServer } from '../agent/api/shutdown-grpc-server'
import type { Logger } from '../agent/observe/logger'
import { toGrpcError } from '../agent/api/grpc-error-mapping'
import { NmError } from '../registry/errors'
import { optionalClientCertCredentials } from './ca-credentials'
import type { LoadedCa } from './ca-dir'
import { generateKeyPem } from './generate-key'
import type { CertResponse, Issuer } from './issuer'
import { caServiceDefinition } from './load-ca-proto'
import { nodeFromPeerCert } from './peer-node'
import { signServerCert } from './sign-svid'
import { CA_SERVICE_NAME, splitServerNames } from './server-names'

export const DEFAULT_CA_LISTEN = '0.0.0.0:15012'
const SERVER_CERT_TTL_MS = 365 * 86_400_000

export interface ServeCaOptions {
  readonly ca: LoadedCa
  readonly issuer: Issuer
  /** HOST:PORT; port 0 picks a free one. */
  readonly listen: string
  /** DNS names and IPs for the server certificate. */
  readonly serverNames: readonly string[]
  readonly log: Logger
}

export interface CaServer {
  readonly port: number
  close(): Promise<void>
}

interface Wire { csrPem: string; identity: string; token: string; node: string }

export async function serveCa(opts: ServeCaOptions): Promise<CaServer> {
  const { ca, issuer, log } = opts
  const root = new X509Certificate(ca.certPem)
  const keyPem = await generateKeyPem()
  const { dnsNames, ips } = splitServerNames([CA_SERVICE_NAME, ...opts.serverNames])
  const serverCertPem = signServerCert({
    ca: ca.signing, publicKeyPem: createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString(),
    dnsNames, ips, ttlMs: SERVER_CERT_TTL_MS,
  })

  const callerNode = (call: grpc.ServerUnaryCall<unknown, unknown>): string => {
    const peer = call.getAuthContext()?.sslPeerCertificate
    const r = nodeFromPeerCert(peer?.raw, root, ca.trustDomain)
    if (!r.ok) throw new NmError('NM_PERMISSION_DENIED', r.reason)
    return r.node
  }

  const unary = (rpc: string, handle: (req: Wire, call: grpc.ServerUnaryCall<unknown, unknown>) => Promise<CertResponse>): grpc.handleUnaryCall<unknown, unknown> =>
    (call, callback) => {
      Promise.resolve().then(() => handle(call.request as Wire, call)).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const nm = err instanceof NmError ? err : new NmError('NM_INTERNAL', `the CA failed: ${(err as Error).message}; see its log`)
          if (nm.code === 'NM_INTERNAL') log.error({ err, rpc }, 'CA call failed')
          else log.info({ rpc, peer: call.getPeer(), error: nm.message }, 'CA call refused')
          const reply = toGrpcError(nm)
          callback({ code: reply.code, details: reply.details, metadata: reply.metadata })
        },
      )
    }

  const server = new grpc.Server()
  server.addService(caServiceDefinition(), {
    JoinNode: unary('JoinNode', (req) => issuer.joinNode(req.token, req.node, req.csrPem)),
    RenewNode: unary('RenewNode', async (req, call) => issuer.signNode(callerNode(call), req.csrPem)),
    SignWorkload: unary('SignWorkload', (req, call) => issuer.signWorkload(callerNode(call), req.csrPem, req.identity)),
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, optionalClientCertCredentials(ca.certPem, serverCertPem, keyPem), (err, bound) => {
      if (err) reject(new NmError('NM_LISTEN_FAILED', `cannot serve the CA on ${opts.listen}: ${err.message}; choose another --listen`, { cause: err }))
      else resolve(bound)
    })
  })
  log.info({ listen: opts.listen, port, trustDomain: ca.trustDomain, serverNames: [...dnsNames, ...ips] }, 'CA listening')
  let closed = false
  return {
    port,
    close: async () => {
      if (closed) return
      closed = true
      await shutdownGrpcServer(server)
    },
  }
}
