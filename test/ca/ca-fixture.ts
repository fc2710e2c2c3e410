/** A fresh CA in a temp directory, and the key + CSR pairs tests ask the CA to sign. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { initCaDir, type LoadedCa } from '../../ca/ca-dir'
import { generateKeyPem } from '../../ca/generate-key'
import { makeCsrPem } from '../../ca/make-csr'

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

export async function newCa(trustDomain = 'nodemesh.local'): Promise<LoadedCa & { remove(): void }> {
  const tmp = tempDir('nm-ca-')
  const ca = await initCaDir(path.join(tmp.dir, 'ca'), trustDomain)
  return Object.assign(ca, { remove: tmp.remove })
}

export async function keyAndCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const keyPem = await generateKeyPem()
  return { keyPem, csrPem: makeCsrPem(keyPem) }
}
