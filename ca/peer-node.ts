/**
 * Which node a client certificate speaks for. TLS has already checked the chain; this checks
 * it again against the root (defence in depth, and Node's TLS ignores URI SANs) and reads the
 * single URI SAN, which must be a node ID of the CA's trust domain.
 */
import { X509Certificate } from 'node:crypto'
import { parseSpiffeId } from '../agent/identity/spiffe'
import { parseSubjectAltName } from '../agent/tunnel/verify-peer'

export type PeerNode = { readonly ok: true; readonly node: string } | { readonly ok: false; readonly reason: string }

export function nodeFromPeerCert(peerDer: Buffer | undefined, root: X509Certificate, trustDomain: string, now: Date = new Date()): PeerNode {
  if (!peerDer) return { ok: false, reason: 'no client certificate chaining to the mesh root was presented: authenticate with the node credential' }
  let cert: X509Certificate
  try { cert = new X509Certificate(peerDer) } catch { return { ok: false, reason: 'the client certificate cannot be parsed' } }
  if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) return { ok: false, reason: 'the client certificate was not issued by this CA' }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return { ok: false, reason: 'the client certificate is not valid now' }
  const sans = parseSubjectAltName(cert.subjectAltName)
  const uri = sans?.length === 1 && sans[0]?.type === 'URI' ? sans[0].value : undefined
  if (uri === undefined) return { ok: false, reason: 'the client certificate must carry exactly one URI SAN' }
  const id = parseSpiffeId(uri)
  if (!id || id.kind !== 'node') return { ok: false, reason: `the client certificate is for ${uri}, not a node: use the node credential` }
  if (id.trustDomain !== trustDomain) return { ok: false, reason: `the client certificate is for trust domain ${id.trustDomain}, not ${trustDomain}` }
  return { ok: true, node: id.node }
}
