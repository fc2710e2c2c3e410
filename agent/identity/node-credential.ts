/**
 * Finds the node credential a remote-CA agent authenticates with: the newest still-valid one
 * of STATE_DIR/identity (renewed or joined earlier) and the offline bundle given with
 * --node-credential. Decided here without I/O; ca-issuer.ts reads the files and acts.
 */
import { X509Certificate } from 'node:crypto'
import { parseSpiffeId } from './spiffe'
import type { NodeBundle } from './identity-files'
import { leafPem, readIssuedCert } from './read-issued-cert'

export interface NodeCredential extends NodeBundle {
  readonly trustDomain: string
  readonly notAfter: Date
}

export type CredentialChoice =
  | { readonly ok: true; readonly credential: NodeCredential; readonly from: number }
  | { readonly ok: false; readonly reasons: string[] }

/** `from` is the index of the chosen candidate; undefined candidates are absent files. */
export function pickNodeCredential(candidates: ReadonlyArray<{ readonly where: string; readonly bundle: NodeBundle | undefined }>, node: string, now: Date): CredentialChoice {
  const reasons: string[] = []
  let best: { credential: NodeCredential; from: number } | undefined
  candidates.forEach(({ where, bundle }, i) => {
    if (!bundle) return
    try {
      const san = new X509Certificate(leafPem(bundle.certChainPem)).subjectAltName ?? ''
      const id = parseSpiffeId(san.replace(/^URI:/, ''))
      if (!id || id.kind !== 'node' || id.node !== node) {
        reasons.push(`${where} is a credential for ${san || 'no identity'}, not node ${node}`)
        return
      }
      const cert = readIssuedCert(bundle.keyPem, bundle.certChainPem, id.uri)
      if (cert.notAfter <= now) { reasons.push(`${where} expired at ${cert.notAfter.toISOString()}`); return }
      if (!best || cert.notAfter > best.credential.notAfter) {
        best = { credential: { ...bundle, trustDomain: id.trustDomain, notAfter: cert.notAfter }, from: i }
      }
    } catch (err) {
      reasons.push(`${where}: ${(err as Error).message}`)
    }
  })
  return best ? { ok: true, ...best } : { ok: false, reasons }
}
