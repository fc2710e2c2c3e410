/**
 * A CA for tests only: issues good certificates and deliberately bad ones (expired, wrong or
 * doubled URI SANs, CA certificates used as leaves), and a CertSource over given PEMs that
 * stands in for the identity machinery. Keys come from node:crypto (forge's are slow).
 */
import crypto from 'node:crypto'
import tls from 'node:tls'
import forge from 'node-forge'
import type { CertSource, IssuedCert } from '../../agent/identity/cert-source'

const DAY = 24 * 60 * 60 * 1000

export interface LeafOptions {
  /** URI SANs; usually one SPIFFE ID. */
  readonly uris?: readonly string[]
  readonly dnsNames?: readonly string[]
  readonly notBefore?: Date
  readonly notAfter?: Date
  /** basicConstraints cA:true (a CA certificate presented as a leaf). */
  readonly isCa?: boolean
}

export interface TestLeaf extends IssuedCert {
  readonly certPem: string
}

export interface TestCa {
  readonly certPem: string
  readonly keyPem: string
  issue(opts: LeafOptions): TestLeaf
}

function rsaKeyPem(): string {
  return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
}

function serialHex(): string {
  return `01${crypto.randomBytes(15).toString('hex')}`
}

export function createTestCa(commonName = 'nodemesh test CA'): TestCa {
  const keyPem = rsaKeyPem()
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  cert.serialNumber = serialHex()
  cert.validity.notBefore = new Date(Date.now() - DAY)
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY)
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'nodemesh tests' }]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(key, forge.md.sha256.create())
  const certPem = forge.pki.certificateToPem(cert)
  const keyId = cert.generateSubjectKeyIdentifier().getBytes()

  function issue(opts: LeafOptions): TestLeaf {
    const leafKeyPem = rsaKeyPem()
    const leafKey = forge.pki.privateKeyFromPem(leafKeyPem) as forge.pki.rsa.PrivateKey
    const leaf = forge.pki.createCertificate()
    leaf.publicKey = forge.pki.setRsaPublicKey(leafKey.n, leafKey.e)
    leaf.serialNumber = serialHex()
    leaf.validity.notBefore = opts.notBefore ?? new Date(Date.now() - 60_000)
    leaf.validity.notAfter = opts.notAfter ?? new Date(Date.now() + DAY)
    leaf.setSubject([{ name: 'organizationName', value: 'nodemesh tests' }])
    leaf.setIssuer(cert.subject.attributes)
    const altNames = [
      ...(opts.uris ?? []).map((value) => ({ type: 6, value })),
      ...(opts.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ]
    leaf.setExtensions([
      { name: 'basicConstraints', cA: opts.isCa === true, critical: true },
      opts.isCa === true
        ? { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true }
        : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: keyId },
    ])
    leaf.sign(key, forge.md.sha256.create())
    const leafPem = forge.pki.certificateToPem(leaf)
    return {
      identity: opts.uris?.[0] ?? '',
      keyPem: leafKeyPem,
      certPem: leafPem,
      certChainPem: leafPem,
      notBefore: leaf.validity.notBefore,
      notAfter: leaf.validity.notAfter,
      serial: leaf.serialNumber.toUpperCase(),
    }
  }

  return { certPem, keyPem, issue }
}

export interface TestCertSource extends CertSource {
  /** Adds or replaces (rotates) the certificate of `cert.identity`. */
  put(cert: IssuedCert): void
  remove(identity: string): void
}

/** A CertSource over given PEMs, contexts cached per certificate as the real one does. */
export function testCertSource(opts: { bundlePem: string; nodeIdentity: string; certs?: readonly IssuedCert[] }): TestCertSource {
  const held = new Map<string, { cert: IssuedCert; ctx: tls.SecureContext }>()
  const put = (cert: IssuedCert) => {
    const ctx = tls.createSecureContext({ key: cert.keyPem, cert: cert.certChainPem, ca: opts.bundlePem })
    held.set(cert.identity, { cert, ctx })
  }
  for (const c of opts.certs ?? []) put(c)
  return {
    trustBundlePem: () => opts.bundlePem,
    nodeIdentity: () => opts.nodeIdentity,
    get: (identity) => held.get(identity)?.cert,
    secureContext: (identity) => held.get(identity)?.ctx,
    list: () => [...held.values()].map((h) => h.cert),
    put,
    remove: (identity) => { held.delete(identity) },
  }
}
