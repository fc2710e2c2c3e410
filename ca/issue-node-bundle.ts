/**
 * `ca issue-node`: an offline node credential for a VM, signed on the CA host and copied over:
 * node.key (0600), node.crt, ca.crt, the layout `nodemesh agent --node-credential DIR` reads.
 */
import fs from 'node:fs'
import path from 'node:path'
import { BUNDLE_FILE, NODE_CERT_FILE, NODE_KEY_FILE } from '../agent/identity/identity-files'
import { nodeId } from '../agent/identity/spiffe'
import { NmError } from '../registry/errors'
import { loadCaDir } from './ca-dir'
import { generateKeyPem } from './generate-key'
import { makeCsrPem } from './make-csr'
import { signSvid } from './sign-svid'

export async function issueNodeBundle(caDir: string, node: string, outDir: string, ttlMs: number): Promise<{ identity: string; notAfter: Date }> {
  const ca = loadCaDir(caDir)
  const keyFile = path.join(outDir, NODE_KEY_FILE)
  if (fs.existsSync(keyFile)) throw new NmError('NM_ALREADY_EXISTS', `${keyFile} exists: remove it, or choose another --out`)
  const identity = nodeId(ca.trustDomain, node)
  const keyPem = await generateKeyPem()
  const signed = signSvid({ ca: ca.signing, csrPem: makeCsrPem(keyPem), uri: identity, ttlMs })
  try {
    fs.mkdirSync(outDir, { recursive: true, mode: 0o700 })
    fs.writeFileSync(keyFile, keyPem, { flag: 'wx', mode: 0o600 })
    fs.writeFileSync(path.join(outDir, NODE_CERT_FILE), signed.certPem, { mode: 0o644 })
    fs.writeFileSync(path.join(outDir, BUNDLE_FILE), ca.certPem, { mode: 0o644 })
  } catch (err) {
    throw new NmError('NM_STATE_DIR', `cannot write the node credential to ${outDir}: ${(err as Error).message}`, { cause: err })
  }
  return { identity, notAfter: signed.notAfter }
}
