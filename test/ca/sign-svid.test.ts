import { X509Certificate, createPrivateKey } from 'node:crypto'
import forge from 'node-forge'
import t from 'tap'
import { DEFAULT_SVID_TTL_MS, signSvid } from '../../ca/sign-svid'
import { BACKDATE_MS } from '../../ca/x509-parts'
import { keyAndCsr, newCa } from './ca-fixture'

const ID = 'spiffe://nodemesh.local/ns/prod/sa/web'

t.test('an issued leaf follows the X.509-SVID rules', async (t) => {
  const ca = await newCa()
  t.teardown(ca.remove)
  const { keyPem, csrPem } = await keyAndCsr()
  const now = new Date()
  const signed = signSvid({ ca: ca.signing, csrPem, uri: ID, now })
  const x = new X509Certificate(signed.certPem)
  const root = new X509Certificate(ca.certPem)

  t.equal(x.subjectAltName, `URI:${ID}`, 'exactly one SAN, the URI')
  t.equal(x.ca, false, 'not a CA')
  t.ok(x.checkIssued(root) && x.verify(root.publicKey), 'chains to the root')
  t.ok(x.checkPrivateKey(createPrivateKey(keyPem)), 'certifies the CSR key')
  t.same(x.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'EKU serverAuth and clientAuth')
  t.equal(new Date(x.validFrom).getTime(), Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000, 'notBefore one minute back')
  t.equal(new Date(x.validTo).getTime(), Math.floor((now.getTime() + DEFAULT_SVID_TTL_MS) / 1000) * 1000, 'notAfter 24 h ahead')
  t.equal(x.serialNumber.replace(/^00/, ''), signed.serial, 'serial reported as node:crypto prints it')

  // Fields node:crypto does not expose, read with forge.
  const f = forge.pki.certificateFromPem(signed.certPem)
  const serialBytes = Buffer.from(f.serialNumber, 'hex')
  t.ok(serialBytes.length === 16 || (serialBytes.length === 17 && serialBytes[0] === 0 && (serialBytes[1]! & 0x80) !== 0), '128-bit positive serial')
  const bc = f.getExtension('basicConstraints') as { cA: boolean; critical: boolean }
  t.same([bc.cA, bc.critical], [false, true], 'basicConstraints CA:false, critical')
  const ku = f.getExtension('keyUsage') as Record<string, boolean>
  t.equal(ku.critical, true, 'keyUsage critical')
  t.equal(ku.digitalSignature, true, 'digitalSignature')
  for (const bit of ['keyCertSign', 'cRLSign', 'nonRepudiation']) t.notOk(ku[bit], `no ${bit}`)
  const san = f.getExtension('subjectAltName') as { altNames: Array<{ type: number; value: string }> }
  t.same(san.altNames.map((a) => [a.type, a.value]), [[6, ID]])
  const ski = f.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string }
  t.ok(ski.subjectKeyIdentifier, 'has a subject key identifier')
  const aki = f.getExtension('authorityKeyIdentifier') as { value: string } | null
  const rootSki = (forge.pki.certificateFromPem(ca.certPem).getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string }).subjectKeyIdentifier
  t.ok(aki && forge.util.bytesToHex(aki.value).endsWith(rootSki), 'authority key id is the root\'s key id')
})

t.test('the root is a CA for ten years, named for its trust domain', async (t) => {
  const ca = await newCa('example.org')
  t.teardown(ca.remove)
  const root = new X509Certificate(ca.certPem)
  t.equal(root.ca, true)
  t.match(root.subject, /CN=nodemesh root example\.org/)
  t.ok(root.verify(root.publicKey), 'self-signed')
  const f = forge.pki.certificateFromPem(ca.certPem)
  const bc = f.getExtension('basicConstraints') as { cA: boolean; critical: boolean }
  t.same([bc.cA, bc.critical], [true, true])
  const ku = f.getExtension('keyUsage') as Record<string, boolean>
  t.same([ku.keyCertSign, ku.cRLSign, ku.critical, !!ku.digitalSignature], [true, true, true, false])
  const years = (new Date(root.validTo).getTime() - new Date(root.validFrom).getTime()) / (365 * 86_400_000)
  t.ok(years > 9.9 && years < 10.1, `ten years (${years})`)
})

t.test('SANs asked for in the CSR are ignored', async (t) => {
  const ca = await newCa()
  t.teardown(ca.remove)
  const keyPem = (await keyAndCsr()).keyPem
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  csr.setSubject([{ name: 'commonName', value: 'evil' }])
  csr.setAttributes([{ name: 'extensionRequest', extensions: [
    { name: 'subjectAltName', altNames: [{ type: 6, value: 'spiffe://nodemesh.local/ns/kube-system/sa/admin' }, { type: 2, value: 'evil.example' }] },
    { name: 'basicConstraints', cA: true },
  ] }])
  csr.sign(key, forge.md.sha256.create())
  const signed = signSvid({ ca: ca.signing, csrPem: forge.pki.certificationRequestToPem(csr), uri: ID })
  const x = new X509Certificate(signed.certPem)
  t.equal(x.subjectAltName, `URI:${ID}`)
  t.equal(x.ca, false)
  t.notMatch(x.subject, /evil/)
})

t.test('a CSR whose signature does not verify is refused', async (t) => {
  const ca = await newCa()
  t.teardown(ca.remove)
  const { csrPem } = await keyAndCsr()
  // Flip one bit of the signature, the last bytes of the DER.
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64')
  der.writeUInt8(der.readUInt8(der.length - 1) ^ 0x01, der.length - 1)
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`
  t.throws(() => signSvid({ ca: ca.signing, csrPem: tampered, uri: ID }), { code: 'NM_BAD_ARGUMENT' })
  t.throws(() => signSvid({ ca: ca.signing, csrPem: 'not a csr', uri: ID }), { code: 'NM_BAD_ARGUMENT' })
})

t.test('a leaf never outlives the root', async (t) => {
  const ca = await newCa()
  t.teardown(ca.remove)
  const { csrPem } = await keyAndCsr()
  const signed = signSvid({ ca: ca.signing, csrPem, uri: ID, ttlMs: 20 * 365 * 86_400_000 })
  t.equal(signed.notAfter.getTime(), ca.signing.cert.validity.notAfter.getTime())
})
