/**
 * Pieces every certificate the CA makes shares: the loaded signing CA, a random serial,
 * validity clamped to the root, and the key identifiers that let verifiers find the issuer.
 */
import crypto from 'node:crypto'
import forge from 'node-forge'
import { NmError } from '../registry/errors'

/** Backdated so that a peer whose clock is a little behind still accepts a fresh certificate. */
export const BACKDATE_MS = 60_000

export interface SigningCa {
  readonly certPem: string
  readonly cert: forge.pki.Certificate
  readonly key: forge.pki.rsa.PrivateKey
  /** Subject key identifier of the root, as a byte string (the leaf's authority key id). */
  readonly keyId: string
}

export function loadSigningCa(certPem: string, keyPem: string): SigningCa {
  let cert: forge.pki.Certificate
  let key: forge.pki.rsa.PrivateKey
  try {
    cert = forge.pki.certificateFromPem(certPem)
    key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  } catch (err) {
    throw new NmError('NM_BAD_ARGUMENT', `the CA certificate or key cannot be read (${(err as Error).message}); check ca.crt and ca.key, or run \`nodemesh ca init\` in a new directory`)
  }
  const pub = cert.publicKey as forge.pki.rsa.PublicKey
  if (pub.n.compareTo(key.n) !== 0) throw new NmError('NM_BAD_ARGUMENT', 'ca.key does not belong to ca.crt: restore the matching pair')
  return { certPem, cert, key, keyId: cert.generateSubjectKeyIdentifier().getBytes() }
}

/**
 * 128 random bits as a positive DER INTEGER (RFC 5280: positive, at most 20 octets): a zero
 * byte goes in front when the top bit is set, and a leading zero byte is drawn again.
 */
export function randomSerialHex(): string {
  for (;;) {
    const bytes = crypto.randomBytes(16)
    if (bytes[0] === 0) continue
    const hex = bytes.toString('hex')
    return (bytes[0] as number) & 0x80 ? `00${hex}` : hex
  }
}

/** notBefore backdated, notAfter = now + ttl but never past the root's own notAfter. */
export function validity(ca: SigningCa, now: Date, ttlMs: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - BACKDATE_MS)
  let notAfter = new Date(now.getTime() + ttlMs)
  if (notAfter > ca.cert.validity.notAfter) notAfter = new Date(ca.cert.validity.notAfter.getTime())
  if (notAfter <= now) throw new NmError('NM_CONFLICT', 'the mesh root has expired: create a new CA with `nodemesh ca init` and re-issue node credentials')
  return { notBefore, notAfter }
}

export function sign(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): string {
  cert.sign(key, forge.md.sha256.create())
  return forge.pki.certificateToPem(cert)
}

export const ORG_SUBJECT = [{ name: 'organizationName', value: 'nodemesh' }]
