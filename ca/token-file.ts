/**
 * tokens.json read-modify-write under a lock file, so `ca node-token` (adding) and `ca serve`
 * (consuming) on the same host never lose each other's writes, and a token is never used twice.
 */
import fs from 'node:fs'
import { NmError } from '../registry/errors'
import { writeFileAtomicSync } from '../registry/atomic-write'
import { parseTokenList, renderTokenList, type StoredToken } from './join-tokens'

const LOCK_WAIT_MS = 5_000
/** A lock older than this was left by a process that died mid-write. */
const STALE_LOCK_MS = 30_000

export async function updateTokens<T>(file: string, change: (list: StoredToken[]) => { tokens: StoredToken[]; result: T }): Promise<T> {
  const lock = `${file}.lock`
  await takeLock(lock)
  try {
    const { tokens, result } = change(readTokens(file))
    writeFileAtomicSync(file, renderTokenList(tokens))
    return result
  } finally {
    fs.rmSync(lock, { force: true })
  }
}

function readTokens(file: string): StoredToken[] {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new NmError('NM_STATE_DIR', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    return parseTokenList(text)
  } catch (err) {
    throw new NmError('NM_BAD_RECORD', `${file} is damaged (${(err as Error).message}): remove it; outstanding join tokens are then void`)
  }
}

async function takeLock(lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 })
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new NmError('NM_STATE_DIR', `cannot create ${lock}: ${(err as Error).message}; check the CA directory's permissions`, { cause: err })
      }
    }
    const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
    if (age > STALE_LOCK_MS) { fs.rmSync(lock, { force: true }); continue }
    if (Date.now() > deadline) throw new NmError('NM_CONFLICT', `${lock} is held by another process: retry, or remove it if no nodemesh ca command is running`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
