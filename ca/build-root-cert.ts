/** The self-signed mesh root: CA:true (critical), keyCertSign + cRLSign, ten years. */
import forge from 'node-forge'
import { BACKDATE_MS, ORG_SUBJECT, randomSerialHex, sign } from './x509-parts'

export const ROOT_TTL_MS = 10 * 365 * 86_400_000

export function buildRootCert(keyPem: string, trustDomain: string, now: Date = new Date()): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  cert.serialNumber = randomSerialHex()
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS)
  cert.validity.notAfter = new Date(now.getTime() + ROOT_TTL_MS)
  const subject = [...ORG_SUBJECT, { name: 'commonName', value: `nodemesh root ${trustDomain}` }]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    // SPIFFE trust bundles name their trust domain in a URI SAN on the root.
    { name: 'subjectAltName', altNames: [{ type: 6, value: `spiffe://${trustDomain}` }] },
    { name: 'subjectKeyIdentifier' },
  ])
  return sign(cert, key)
}
