/** A PKCS#10 request for a key: it carries the public key and proves possession, nothing else. */
import forge from 'node-forge'
import { ORG_SUBJECT } from './x509-parts'

export function makeCsrPem(keyPem: string): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  csr.setSubject(ORG_SUBJECT)
  csr.sign(key, forge.md.sha256.create())
  return forge.pki.certificationRequestToPem(csr)
}
