/**
 * Signs an X.509-SVID from a CSR: the CSR gives only its public key. Whatever names it asks
 * for are ignored; the certificate carries exactly the one URI SAN the caller decided on.
 */
import forge from 'node-forge'
import { NmError } from '../registry/errors'
import { ORG_SUBJECT, randomSerialHex, sign, validity, type SigningCa } from './x509-parts'

export interface SignedCert {
  readonly certPem: string
  /** Hex, as node:crypto's X509Certificate prints it. */
  readonly serial: string
  readonly notBefore: Date
  readonly notAfter: Date
}

export const DEFAULT_SVID_TTL_MS = 24 * 3_600_000

/** The CSR's public key once its signature (proof of possession) checks out. */
export function csrPublicKey(csrPem: string): forge.pki.rsa.PublicKey {
  let csr: forge.pki.CertificateSigningRequest
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem)
  } catch (err) {
    throw new NmError('NM_BAD_ARGUMENT', `the CSR cannot be read (${(err as Error).message}); send a PEM PKCS#10 request with an RSA key`)
  }
  let ok = false
  try { ok = csr.verify() } catch { ok = false }
  if (!ok) throw new NmError('NM_BAD_ARGUMENT', 'the CSR signature does not verify: the request must be signed with its own key')
  const pub = csr.publicKey as forge.pki.rsa.PublicKey | null
  if (!pub || pub.n.bitLength() < 2048) throw new NmError('NM_BAD_ARGUMENT', 'the CSR key must be RSA of at least 2048 bits')
  return pub
}

export interface SignSvidInput {
  readonly ca: SigningCa
  readonly csrPem: string
  /** The SPIFFE ID, already authorized by the caller. */
  readonly uri: string
  readonly ttlMs?: number
  readonly now?: Date
}

export function signSvid(input: SignSvidInput): SignedCert {
  const { ca, uri } = input
  const now = input.now ?? new Date()
  const { notBefore, notAfter } = validity(ca, now, input.ttlMs ?? DEFAULT_SVID_TTL_MS)
  const cert = forge.pki.createCertificate()
  cert.publicKey = csrPublicKey(input.csrPem)
  cert.serialNumber = randomSerialHex()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
  cert.setSubject(ORG_SUBJECT)
  cert.setIssuer(ca.cert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 6, value: uri }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.keyId },
  ])
  const certPem = sign(cert, ca.key)
  return { certPem, serial: cert.serialNumber.replace(/^00/, '').toUpperCase(), notBefore, notAfter }
}

export interface SignServerCertInput {
  readonly ca: SigningCa
  readonly publicKeyPem: string
  readonly dnsNames: readonly string[]
  readonly ips: readonly string[]
  readonly ttlMs: number
  readonly now?: Date
}

/** The CA's own TLS server certificate: DNS and IP SANs, serverAuth only. */
export function signServerCert(input: SignServerCertInput): string {
  const { ca } = input
  const { notBefore, notAfter } = validity(ca, input.now ?? new Date(), input.ttlMs)
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.publicKeyFromPem(input.publicKeyPem)
  cert.serialNumber = randomSerialHex()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
  cert.setSubject([...ORG_SUBJECT, { name: 'commonName', value: input.dnsNames[0] ?? input.ips[0] ?? 'nodemesh-ca' }])
  cert.setIssuer(ca.cert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...input.dnsNames.map((value) => ({ type: 2, value })), ...input.ips.map((ip) => ({ type: 7, ip }))] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.keyId },
  ])
  return sign(cert, ca.key)
}
