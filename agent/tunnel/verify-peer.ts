/**
 * Is this peer certificate a mesh identity we accept? Chain validity is the TLS layer's job
 * (rejectUnauthorized with the trust bundle); this checks what TLS does not: exactly one URI
 * SAN holding a SPIFFE ID of our trust domain (the expected one when the caller knows it),
 * not a CA certificate, and the validity window once more.
 */
import type crypto from 'node:crypto'
import { parseSpiffeId, type SpiffeId } from '../identity/spiffe'

export type PeerVerdict = { ok: true; identity: SpiffeId } | { ok: false; reason: string }

export function verifyPeerCertificate(
  cert: crypto.X509Certificate,
  opts: { trustDomain: string; expect?: string; now?: Date },
): PeerVerdict {
  if (cert.ca) return { ok: false, reason: 'peer certificate is a CA certificate (basicConstraints cA), not a workload or node certificate' }
  const now = (opts.now ?? new Date()).getTime()
  const notBefore = Date.parse(cert.validFrom)
  const notAfter = Date.parse(cert.validTo)
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) return { ok: false, reason: 'peer certificate validity cannot be read' }
  if (now < notBefore) return { ok: false, reason: `peer certificate not valid before ${new Date(notBefore).toISOString()}` }
  if (now > notAfter) return { ok: false, reason: `peer certificate expired at ${new Date(notAfter).toISOString()}` }
  const sans = parseSubjectAltName(cert.subjectAltName)
  if (sans === undefined) return { ok: false, reason: 'peer certificate subjectAltName cannot be read' }
  const uris = sans.filter((s) => s.type === 'URI').map((s) => s.value)
  if (uris.length !== 1) return { ok: false, reason: `peer certificate has ${uris.length} URI SANs, exactly one SPIFFE ID is required` }
  const uri = uris[0] as string
  const identity = parseSpiffeId(uri)
  if (identity === undefined) return { ok: false, reason: `peer URI SAN ${JSON.stringify(uri)} is not a SPIFFE ID of the mesh` }
  if (identity.trustDomain !== opts.trustDomain) {
    return { ok: false, reason: `peer identity ${uri} is of trust domain ${identity.trustDomain}, expected ${opts.trustDomain}` }
  }
  if (opts.expect !== undefined && uri !== opts.expect) return { ok: false, reason: `peer identity ${uri} is not the expected ${opts.expect}` }
  return { ok: true, identity }
}

/**
 * node:crypto's `subjectAltName` string: `TYPE:value` entries joined by `, `, where a value
 * holding a comma, quote, backslash or control character is written as a JSON string (so a
 * crafted SAN cannot pass for two). Undefined when the string does not have that shape.
 */
export function parseSubjectAltName(s: string | undefined): { type: string; value: string }[] | undefined {
  const out: { type: string; value: string }[] = []
  if (s === undefined || s === '') return out
  let i = 0
  while (i < s.length) {
    const colon = s.indexOf(':', i)
    if (colon < 0) return undefined
    const type = s.slice(i, colon)
    let value: string
    let next: number
    if (s[colon + 1] === '"') {
      let j = colon + 2
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1
      if (j >= s.length) return undefined
      try {
        value = JSON.parse(s.slice(colon + 1, j + 1)) as string
      } catch {
        return undefined
      }
      next = j + 1
    } else {
      const sep = s.indexOf(', ', colon + 1)
      next = sep < 0 ? s.length : sep
      value = s.slice(colon + 1, next)
    }
    out.push({ type, value })
    if (next === s.length) break
    if (!s.startsWith(', ', next)) return undefined
    i = next + 2
  }
  return out
}
