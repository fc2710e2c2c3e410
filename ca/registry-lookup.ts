/**
 * Where the issuer reads the registry. `ca serve` loads it fresh per call: signing is rare
 * (once per identity per half-life) and a fresh read means a deregistered workload cannot be
 * re-issued from a stale view. The in-process issuer can pass the agent's current snapshot.
 */
import { buildSnapshot } from '../registry/build-snapshot'
import type { Snapshot } from '../registry/snapshot'
import type { RegistryStore } from '../registry/store'

export interface RegistryLookup {
  snapshot(): Promise<Snapshot>
}

export function storeLookup(store: RegistryStore): RegistryLookup {
  return { snapshot: async () => buildSnapshot(await store.load()).snapshot }
}
