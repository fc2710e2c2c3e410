/**
 * Heartbeats this node's lease (a third of the TTL), publishes the node record, re-asserts the
 * local endpoints when the lease had lapsed, and reaps lapsed leases of other nodes (any
 * agent may; the store does it atomically by its own clock).
 */
import { isNmError } from '../../registry/errors'
import type { NodeRecord } from '../../registry/records'
import type { RegistryStore } from '../../registry/store'
import type { Logger } from '../observe/logger'
import type { LocalEndpoints } from './local-endpoints'

export interface LeaseKeeper {
  /** Resolves after the first successful heartbeat (local endpoints re-asserted by then). */
  readonly firstBeat: Promise<void>
  stop(): void
}

export function keepLease(opts: {
  store: RegistryStore
  node: NodeRecord
  ttlMs: number
  local: LocalEndpoints
  log: Logger
}): LeaseKeeper {
  const { store, node, ttlMs, local, log } = opts
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let failing = false
  let published = false
  let markFirst: () => void = () => {}
  const firstBeat = new Promise<void>((resolve) => { markFirst = resolve })

  const beatOnce = async (): Promise<void> => {
    const { renewed } = await store.heartbeat(node.name, ttlMs)
    if (!renewed || !published) {
      await store.putRecord('node', node)
      published = true
    }
    if (!renewed) await reassert()
    await store.reapExpiredLeases()
    if (failing) log.info({ node: node.name }, 'lease renewed: registry reachable again')
    failing = false
    markFirst()
  }

  const reassert = async (): Promise<void> => {
    for (const input of local.all()) {
      try {
        await store.registerEndpoint({ ...input, node: node.name, lease: node.name })
        log.info({ endpoint: input.id, service: input.service }, 'local endpoint re-registered after the lease lapsed')
      } catch (err) {
        if (isNmError(err, 'NM_NOT_FOUND') || isNmError(err, 'NM_BAD_RECORD')) {
          // The service is gone or changed its ports: the registration cannot stand any more.
          log.warn({ endpoint: input.id, service: input.service, err: (err as Error).message }, 'local endpoint dropped')
          await local.remove(input.id as string)
        } else throw err
      }
    }
  }

  const loop = (): void => {
    if (stopped) return
    // The next beat is scheduled only once this one settled, so beats never overlap.
    beatOnce().catch((err: Error) => {
      if (!failing) log.warn({ node: node.name, err: err.message }, 'lease heartbeat failed; endpoints of this node lapse after the TTL unless the registry comes back')
      failing = true
    }).finally(() => {
      if (!stopped) timer = setTimeout(loop, Math.max(250, Math.floor(ttlMs / 3)))
    })
  }
  loop()

  return {
    firstBeat,
    stop: () => {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
