/**
 * Server credentials that ask for a client certificate but do not require one: JoinNode is
 * called before a node has a credential, every other call needs it. grpc-js's createSsl can
 * only require or ignore client certificates, so this sets the TLS options directly. grpc-js
 * reports a peer certificate to the handler only when it verified against `ca`.
 */
import * as grpc from '@grpc/grpc-js'

class OptionalClientCertCredentials extends grpc.ServerCredentials {
  constructor(rootPem: string, certChainPem: string, keyPem: string) {
    super(
      { requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' },
      { ca: [rootPem], cert: [certChainPem], key: [keyPem] },
    )
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this
  }
}

export function optionalClientCertCredentials(rootPem: string, certChainPem: string, keyPem: string): grpc.ServerCredentials {
  return new OptionalClientCertCredentials(rootPem, certChainPem, keyPem)
}
