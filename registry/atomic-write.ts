/**
 * Writes `data` so that a reader sees the old file or the new one, never a torn one: write a
 * temp file beside it, fsync, rename over, then fsync the directory so the rename survives a
 * crash. The file is readable by its owner only (0600): it holds registry state or secrets.
 * The async form also creates the parent directory (mode 0700) when missing.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'

function tempBeside(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`)
}

export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file)
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = tempBeside(file)
  const fh = await fsp.open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await fsp.rename(tmp, file)
  } catch (err) {
    await fsp.rm(tmp, { force: true })
    throw err
  }
  // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  const dh = await fsp.open(dir, 'r').catch(() => undefined)
  if (!dh) return
  try { await dh.sync() } catch { /* best effort */ } finally { await dh.close() }
}

/** The same for synchronous callers; the parent directory must exist. */
export function writeFileAtomicSync(file: string, data: string): void {
  const tmp = tempBeside(file)
  const fd = fs.openSync(tmp, 'wx', 0o600)
  try {
    fs.writeFileSync(fd, data)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  try {
    fs.renameSync(tmp, file)
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw err
  }
  let dfd: number | undefined
  try { dfd = fs.openSync(path.dirname(file), 'r'); fs.fsyncSync(dfd) } catch { /* best effort */ } finally { if (dfd !== undefined) fs.closeSync(dfd) }
}
