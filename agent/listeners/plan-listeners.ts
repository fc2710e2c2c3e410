/**
 * Pure decisions for bind-mode listeners: which VIP:port listeners to open or close for a new
 * table, and what an accepted connection on one of them is (L7, L4, or refused).
 */
import type { RoutingTable, ListenerSpec } from '../routing/routing-table'

export interface ListenerDiff {
  readonly open: readonly ListenerSpec[]
  readonly close: readonly string[]
}

/**
 * Listeners are keyed by `vip:port` only: the protocol of a port is read from the table on
 * every accept, so a protocol change needs no reopen and never drops the other listeners.
 */
export function diffListeners(current: ReadonlySet<string>, desired: readonly ListenerSpec[]): ListenerDiff {
  const want = new Set<string>()
  const open: ListenerSpec[] = []
  for (const spec of desired) {
    want.add(spec.key)
    if (!current.has(spec.key)) open.push(spec)
  }
  const close = [...current].filter((key) => !want.has(key)).sort()
  return { open, close }
}

export type AcceptPlan =
  | { readonly kind: 'http'; readonly vipPort: string }
  | { readonly kind: 'tcp'; readonly vipPort: string }
  | { readonly kind: 'refuse'; readonly reason: string }

/** Decides what a connection to `vipPort` is, from the current table alone. */
export function planAccept(table: RoutingTable, vipPort: string): AcceptPlan {
  const port = table.byVipPort.get(vipPort)
  if (!port) return { kind: 'refuse', reason: `no service port at ${vipPort}` }
  return port.protocol === 'tcp' ? { kind: 'tcp', vipPort } : { kind: 'http', vipPort }
}
