/**
 * Lease bookkeeping of the embedded store (the Consul TTL model): a node's lease keeps the
 * endpoints registered under it, and when the lease lapses they go with it. Plans on a Draft;
 * `now` is passed in so one write sees one clock reading.
 */
import { jsonField, type Draft } from './embedded-state'

export function leaseLive(leases: ReadonlyMap<string, number>, node: string, now: number): boolean {
  return (leases.get(node) ?? 0) > now
}

export function lapsedLeases(leases: ReadonlyMap<string, number>, now: number): string[] {
  return [...leases].filter(([, exp]) => exp <= now).map(([node]) => node)
}

/** Starts or renews the lease of `node`; returns whether it was still live (a renewal). */
export function renewLease(d: Draft, node: string, ttlMs: number, now: number): boolean {
  const renewed = leaseLive(d.base.leases, node, now)
  // A lapsed lease's endpoints are gone by contract, even if the reaper has not run yet.
  if (!renewed) dropLeaseEndpoints(d, node)
  d.setLeases().set(node, now + ttlMs)
  return renewed
}

/** Ends a lapsed lease with its endpoints; false when it was renewed meanwhile or is gone. */
export function endLapsedLease(d: Draft, node: string, now: number): boolean {
  const exp = d.base.leases.get(node)
  if (exp === undefined || exp > now) return false
  dropLeaseEndpoints(d, node)
  d.setLeases().delete(node)
  return true
}

function dropLeaseEndpoints(d: Draft, node: string): void {
  for (const [id, raw] of d.base.records.endpoint) {
    if (jsonField(raw, 'lease') === node) d.delete('endpoint', id)
  }
}
