/**
 * What the tunnel and the agent need from the identity machinery: the mesh trust bundle and
 * the current certificate of an identity, swapped in place on renewal so that new
 * connections use the new certificate and open ones are left alone.
 */
import type tls from 'node:tls'

export interface IssuedCert {
  /** The SPIFFE ID in the certificate's single URI SAN. */
  readonly identity: string
  readonly keyPem: string
  /** Leaf first, then any intermediates. */
  readonly certChainPem: string
  readonly notBefore: Date
  readonly notAfter: Date
  readonly serial: string
}

export interface CertSource {
  /** PEM of the mesh root(s) peers must chain to. */
  trustBundlePem(): string
  /** This node's own identity (`spiffe://TD/node/NODE`); always has a certificate once ready. */
  nodeIdentity(): string
  /** The current certificate of `identity`, or undefined when none is held (yet). */
  get(identity: string): IssuedCert | undefined
  /**
   * A TLS context presenting `identity`'s current certificate and trusting the bundle;
   * cached per certificate, so it is cheap to call per connection.
   */
  secureContext(identity: string): tls.SecureContext | undefined
  /** Every certificate held, for /debug/certs and the expiry metric. */
  list(): readonly IssuedCert[]
}
