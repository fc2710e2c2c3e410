/**
 * Turns a key and chain (from the issuer or from disk) into an IssuedCert, checking that they
 * belong together and name the expected identity: a mixed-up file must not be served.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { NmError } from '../../registry/errors'
import type { IssuedCert } from './cert-source'

/** The first certificate of a PEM chain. */
export function leafPem(chainPem: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)
  if (!m) throw new NmError('NM_BAD_RECORD', 'the certificate chain holds no PEM certificate')
  return `${m[0]}\n`
}

/** Uppercase hex without the DER sign byte. */
export function normalSerial(serial: string): string {
  return serial.toUpperCase().replace(/^(00)+(?=.)/, '')
}

export function readIssuedCert(keyPem: string, certChainPem: string, identity: string): IssuedCert {
  let x: X509Certificate
  try {
    x = new X509Certificate(leafPem(certChainPem))
  } catch (err) {
    if (err instanceof NmError) throw err
    throw new NmError('NM_BAD_RECORD', `the certificate for ${identity} cannot be parsed: ${(err as Error).message}`)
  }
  if (x.subjectAltName !== `URI:${identity}`) {
    throw new NmError('NM_BAD_RECORD', `the certificate names ${x.subjectAltName ?? 'nothing'}, not ${identity}`)
  }
  let matches = false
  try { matches = x.checkPrivateKey(createPrivateKey(keyPem)) } catch { matches = false }
  if (!matches) throw new NmError('NM_BAD_RECORD', `the key for ${identity} does not match its certificate`)
  return {
    identity, keyPem, certChainPem,
    notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo), serial: normalSerial(x.serialNumber),
  }
}
