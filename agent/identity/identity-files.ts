/**
 * Certificates and keys kept in STATE_DIR/identity/ (directory 0700, files 0600), so an agent
 * restarted while the CA is down still serves until they expire. The node credential uses the
 * same layout as an offline bundle (node.key, node.crt, ca.crt); workload certificates are one
 * JSON file each under workloads/.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomicSync as writeFileAtomic } from '../../registry/atomic-write'
import { NmError } from '../../registry/errors'

export interface StoredCert {
  readonly identity: string
  readonly keyPem: string
  readonly certChainPem: string
  readonly trustBundlePem: string
  /** When the agent received it: renewal is timed from here. */
  readonly receivedAt: string
}

export const NODE_KEY_FILE = 'node.key'
export const NODE_CERT_FILE = 'node.crt'
export const BUNDLE_FILE = 'ca.crt'

export function identityDir(stateDir: string): string {
  return path.join(stateDir, 'identity')
}

function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new NmError('NM_STATE_DIR', `cannot create ${dir}: ${(err as Error).message}`, { cause: err })
  }
}

export interface NodeBundle {
  readonly keyPem: string
  readonly certChainPem: string
  readonly trustBundlePem: string
}

/** The bundle in `dir`, or undefined when any of its three files is missing. */
export function readNodeBundle(dir: string): NodeBundle | undefined {
  try {
    return {
      keyPem: fs.readFileSync(path.join(dir, NODE_KEY_FILE), 'utf8'),
      certChainPem: fs.readFileSync(path.join(dir, NODE_CERT_FILE), 'utf8'),
      trustBundlePem: fs.readFileSync(path.join(dir, BUNDLE_FILE), 'utf8'),
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new NmError('NM_STATE_DIR', `cannot read the node credential in ${dir}: ${(err as Error).message}`, { cause: err })
  }
}

export function writeNodeBundle(dir: string, bundle: NodeBundle): void {
  ensureDir(dir)
  writeFileAtomic(path.join(dir, NODE_KEY_FILE), bundle.keyPem)
  writeFileAtomic(path.join(dir, NODE_CERT_FILE), bundle.certChainPem)
  writeFileAtomic(path.join(dir, BUNDLE_FILE), bundle.trustBundlePem)
}

function workloadFile(dir: string, identity: string): string {
  const name = crypto.createHash('sha256').update(identity).digest('hex').slice(0, 32)
  return path.join(dir, 'workloads', `${name}.json`)
}

export function writeWorkloadCert(dir: string, cert: StoredCert): void {
  ensureDir(path.join(dir, 'workloads'))
  writeFileAtomic(workloadFile(dir, cert.identity), JSON.stringify(cert))
}

export function removeWorkloadCert(dir: string, identity: string): void {
  fs.rmSync(workloadFile(dir, identity), { force: true })
}

/** Every readable workload file; a damaged one is skipped (it will be re-issued). */
export function readWorkloadCerts(dir: string): StoredCert[] {
  const sub = path.join(dir, 'workloads')
  let names: string[]
  try { names = fs.readdirSync(sub) } catch { return [] }
  const out: StoredCert[] = []
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      const c = JSON.parse(fs.readFileSync(path.join(sub, name), 'utf8')) as Partial<StoredCert>
      if (typeof c.identity === 'string' && typeof c.keyPem === 'string' && typeof c.certChainPem === 'string'
        && typeof c.trustBundlePem === 'string' && typeof c.receivedAt === 'string') out.push(c as StoredCert)
    } catch { /* damaged: re-issued on demand */ }
  }
  return out
}
