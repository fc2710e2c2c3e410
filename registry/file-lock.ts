/**
 * The lock file that keeps a registry file to one process: it holds the owner's pid, and a
 * lock whose pid is dead (a crashed process) is stale and taken over.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import { NmError } from './errors'

export interface FileLock { release(): Promise<void> }

/** Locks held by this process: a lock naming our own pid but not in here was left by an earlier process that had the same pid (pid 1 in a container). */
const heldLocks = new Set<string>()

/**
 * Takes `lockFile` holding our pid. The pid is written to a temp file first and hard-linked
 * into place, so the lock never exists half-written. A lock whose pid is dead is stale (a
 * crashed process) and is taken over.
 */
export async function acquireFileLock(lockFile: string, what: string): Promise<FileLock> {
  const mine = `${process.pid}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = `${lockFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
    try {
      await fs.writeFile(tmp, mine, { mode: 0o600 })
      await fs.link(tmp, lockFile)
      heldLocks.add(lockFile)
      return { release: () => releaseLock(lockFile, mine) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new NmError('NM_STATE_DIR', `cannot create lock file ${lockFile}: ${(err as Error).message}; check the directory's permissions`)
      }
    } finally {
      await fs.rm(tmp, { force: true })
    }
    const holder = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim())
    if (Number.isSafeInteger(holder) && holder > 0 && pidAlive(holder, lockFile)) {
      throw new NmError('NM_CONFLICT', `${what} is in use by process ${holder} (lock ${lockFile}); stop that process or go through its agent API`)
    }
    await fs.rm(lockFile, { force: true })
  }
  throw new NmError('NM_CONFLICT', `${what}: could not take lock ${lockFile}, another process keeps taking it; retry`)
}

function pidAlive(pid: number, lockFile: string): boolean {
  if (pid === process.pid) return heldLocks.has(lockFile)
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function releaseLock(lockFile: string, mine: string): Promise<void> {
  // Only remove the lock while it is still ours (it may have been taken over as stale).
  heldLocks.delete(lockFile)
  const content = await fs.readFile(lockFile, 'utf8').catch(() => undefined)
  if (content === mine) await fs.rm(lockFile, { force: true })
}
