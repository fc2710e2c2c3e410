/**
 * The CA directory: ca.crt (the root, shared with every agent), ca.key (0600, never leaves
 * the CA host), ca.json (the trust domain), tokens.json (hashed join tokens).
 */
import fs from 'node:fs'
import path from 'node:path'
import { NmError } from '../registry/errors'
import { parseSpiffeId } from '../agent/identity/spiffe'
import { buildRootCert } from './build-root-cert'
import { generateKeyPem } from './generate-key'
import { loadSigningCa, type SigningCa } from './x509-parts'

export const DEFAULT_TRUST_DOMAIN = 'nodemesh.local'

export interface CaDirFiles {
  readonly cert: string
  readonly key: string
  readonly config: string
  readonly tokens: string
}

export function caDirFiles(dir: string): CaDirFiles {
  return {
    cert: path.join(dir, 'ca.crt'),
    key: path.join(dir, 'ca.key'),
    config: path.join(dir, 'ca.json'),
    tokens: path.join(dir, 'tokens.json'),
  }
}

export interface LoadedCa {
  readonly dir: string
  readonly trustDomain: string
  readonly certPem: string
  readonly signing: SigningCa
}

export function isTrustDomain(td: string): boolean {
  return parseSpiffeId(`spiffe://${td}/node/x`) !== undefined
}

/** Creates the root in `dir`; refuses (NM_ALREADY_EXISTS) when a CA is already there. */
export async function initCaDir(dir: string, trustDomain: string = DEFAULT_TRUST_DOMAIN): Promise<LoadedCa> {
  if (!isTrustDomain(trustDomain)) {
    throw new NmError('NM_BAD_ARGUMENT', `--trust-domain "${trustDomain}" must be a lowercase DNS-like name, e.g. nodemesh.local`)
  }
  const files = caDirFiles(dir)
  for (const f of [files.cert, files.key, files.config]) {
    if (fs.existsSync(f)) throw new NmError('NM_ALREADY_EXISTS', `${f} exists: a CA is already set up in ${dir}; use it, or choose another --dir`)
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new NmError('NM_STATE_DIR', `cannot create ${dir}: ${(err as Error).message}`, { cause: err })
  }
  const keyPem = await generateKeyPem()
  const certPem = buildRootCert(keyPem, trustDomain)
  // The key goes first and exclusively: two concurrent inits cannot both win.
  writeNew(files.key, keyPem, 0o600)
  writeNew(files.cert, certPem, 0o644)
  writeNew(files.config, `${JSON.stringify({ trustDomain, createdAt: new Date().toISOString() }, null, 2)}\n`, 0o644)
  return { dir, trustDomain, certPem, signing: loadSigningCa(certPem, keyPem) }
}

function writeNew(file: string, data: string, mode: number): void {
  try {
    fs.writeFileSync(file, data, { flag: 'wx', mode })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new NmError('NM_ALREADY_EXISTS', `${file} exists: a CA is already set up there`)
    throw new NmError('NM_STATE_DIR', `cannot write ${file}: ${(err as Error).message}`, { cause: err })
  }
}

export function loadCaDir(dir: string): LoadedCa {
  const files = caDirFiles(dir)
  const read = (file: string): string => {
    try {
      return fs.readFileSync(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NmError('NM_NOT_FOUND', `${file} is missing: ${dir} holds no CA; create one with \`nodemesh ca init --dir ${dir}\``)
      }
      throw new NmError('NM_STATE_DIR', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  const certPem = read(files.cert)
  const keyPem = read(files.key)
  let trustDomain: unknown
  try {
    trustDomain = (JSON.parse(read(files.config)) as { trustDomain?: unknown }).trustDomain
  } catch (err) {
    if (err instanceof NmError) throw err
    throw new NmError('NM_BAD_RECORD', `${files.config} is not valid JSON: restore it ({"trustDomain": "..."})`)
  }
  if (typeof trustDomain !== 'string' || !isTrustDomain(trustDomain)) {
    throw new NmError('NM_BAD_RECORD', `${files.config} names no valid trustDomain: restore it ({"trustDomain": "..."})`)
  }
  return { dir, trustDomain, certPem, signing: loadSigningCa(certPem, keyPem) }
}
