/**
 * Keeps a Snapshot in step with a RegistryStore: one full load, then the change feed from its
 * cursor. Anything it cannot follow (a gap in revisions, a resync batch, a reconnect) leads to
 * a full load, because a missed event would otherwise leave the snapshot wrong forever.
 */
import type { Logger } from '../agent/observe/logger'
import { applyChanges } from './apply-changes'
import { buildSnapshot } from './build-snapshot'
import { isNmError } from './errors'
import type { RejectedRecord, Snapshot } from './snapshot'
import type { ChangeEvent, RegistryStore } from './store'

export interface RegistryWatcher {
  status(): { connected: boolean; revision: number; lastSyncAt: number | undefined }
  current(): Snapshot | undefined
  close(): Promise<void>
}

export interface WatchOptions {
  store: RegistryStore
  log: Logger
  /** A snapshot to start from (the saved one); emitted again only if the registry differs. */
  initial?: Snapshot
  /**
   * Called with each new snapshot and the records newly rejected since the previous one (count
   * them); the full standing list is `s.rejected`.
   */
  onSnapshot: (s: Snapshot, rejected: readonly RejectedRecord[]) => void
  blockMs?: number
}

const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 5_000

/** Capped exponential backoff with jitter, so that many agents do not retry in step. */
export function backoffDelay(attempt: number, random: number = Math.random()): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 16))
  return Math.max(BACKOFF_MIN_MS, Math.round(cap / 2 + (random * cap) / 2))
}

/** True when `events` continue `revision` with no gap (events at or below it are re-deliveries). */
export function followsOn(revision: number, events: readonly ChangeEvent[]): boolean {
  let expected = revision + 1
  for (const e of events) {
    if (e.revision < expected) continue
    if (e.revision !== expected) return false
    expected++
  }
  return true
}

function rejectedKey(r: RejectedRecord): string {
  return `${r.kind}\u0000${r.id}\u0000${r.reason}`
}

export function watchRegistry(opts: WatchOptions): RegistryWatcher {
  const { store, log } = opts
  const blockMs = opts.blockMs ?? 5_000
  let snapshot: Snapshot | undefined = opts.initial
  let connected = false
  let lastSyncAt: number | undefined
  let closed = false
  let wakeSleep: (() => void) | undefined

  const sameRejected = (a: readonly RejectedRecord[], b: readonly RejectedRecord[]): boolean =>
    a.length === b.length && a.every((r, i) => rejectedKey(r) === rejectedKey(b[i]!))

  /** Swaps in `next`; tells the consumer only when the revision or the rejected set changed. */
  const adopt = (next: Snapshot): void => {
    const prev = snapshot
    const known = new Set((prev?.rejected ?? []).map(rejectedKey))
    const fresh = next.rejected.filter((r) => !known.has(rejectedKey(r)))
    for (const r of fresh) log.warn({ kind: r.kind, id: r.id, reason: r.reason }, 'registry record rejected')
    snapshot = next
    if (prev && prev.revision === next.revision && sameRejected(prev.rejected, next.rejected)) return
    try {
      opts.onSnapshot(next, fresh)
    } catch (err) {
      log.error({ err: (err as Error).message, revision: next.revision }, 'snapshot consumer failed')
    }
  }

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(() => { wakeSleep = undefined; resolve() }, ms)
    wakeSleep = () => { clearTimeout(timer); wakeSleep = undefined; resolve() }
  })

  const run = async (): Promise<void> => {
    let needFull = true
    let failures = 0
    let outage = false
    while (!closed) {
      try {
        if (needFull || !snapshot) {
          const state = await store.load()
          if (closed) return
          adopt(buildSnapshot(state).snapshot)
          needFull = false
          connected = true
          lastSyncAt = Date.now()
          if (outage) log.info({ registry: store.description, revision: state.revision }, 'registry reachable again; resynced in full')
          outage = false
        }
        const current: Snapshot = snapshot!
        const batch = await store.readChanges(current.cursor, blockMs)
        if (closed) return
        // Backoff restarts only once the feed works too, so it keeps growing while it fails.
        failures = 0
        if (batch.type === 'resync') {
          log.info({ registry: store.description, reason: batch.reason }, 'registry change feed asks for a full resync')
          needFull = true
          continue
        }
        if (!followsOn(current.revision, batch.events)) {
          log.info({ registry: store.description, revision: current.revision, got: batch.events[0]?.revision }, 'gap in registry changes; resyncing in full')
          needFull = true
          continue
        }
        if (batch.events.length > 0 || batch.cursor !== current.cursor) {
          adopt(applyChanges(current, batch.events, batch.cursor).snapshot)
        }
        lastSyncAt = Date.now()
      } catch (err) {
        if (closed) return
        if (!outage) {
          const code = isNmError(err) ? err.code : 'NM_REGISTRY_UNREACHABLE'
          log.warn({ registry: store.description, code, err: (err as Error).message }, 'registry unreachable; serving the last snapshot and retrying')
          outage = true
        }
        connected = false
        needFull = true
        await sleep(backoffDelay(failures++))
      }
    }
  }

  const running = run().catch((err: Error) => log.error({ err: err.message }, 'registry watcher stopped unexpectedly'))
  void running

  return {
    status: () => ({ connected, revision: snapshot?.revision ?? 0, lastSyncAt }),
    current: () => snapshot,
    async close() {
      // A pending readChanges is left to finish on its own (the store's close ends it);
      // everything after it checks `closed`, so nothing is emitted once close resolves.
      closed = true
      connected = false
      wakeSleep?.()
    },
  }
}
