/**
 * Saves each new snapshot to the state directory, coalescing bursts: at most one write in
 * flight, and only the newest pending snapshot is written after it.
 */
import type { Snapshot } from '../registry/snapshot'
import type { Logger } from './observe/logger'

export interface SnapshotPersister {
  (snapshot: Snapshot): void
  flush(): Promise<void>
}

export function persistSnapshots(file: string, save: (file: string, s: Snapshot) => Promise<void>, log: Logger): SnapshotPersister {
  let pending: Snapshot | undefined
  let writing: Promise<void> | undefined
  const drain = async (): Promise<void> => {
    while (pending) {
      const s = pending
      pending = undefined
      await save(file, s).catch((err: Error) => log.warn({ file, err: err.message }, 'could not save snapshot; a restart without the registry would use an older one'))
    }
    writing = undefined
  }
  const persist = ((snapshot: Snapshot) => {
    pending = snapshot
    writing ??= drain()
  }) as SnapshotPersister
  persist.flush = async () => { await writing }
  return persist
}
