/**
 * Picks the VIP for a new service in the embedded store (the Redis store does the same inside
 * its create-service script, atomically with the write). Pure: the caller passes what is held.
 */
import { addressOffset, nextFreeOffset, nthAddress, type Ipv4Cidr } from './cidr'

export type VipAllocation = { ok: true; vip: string; cursor: number } | { ok: false; inUse: number }

/**
 * The first free address at or after `cursor`, and the cursor for the next search (one past
 * it, so a VIP that was just freed is not handed out again at once). `held` may hold anything
 * read from storage: values that are not addresses in the block are ignored.
 */
export function allocateVip(cidr: Ipv4Cidr, cursor: number, held: Iterable<unknown>): VipAllocation {
  const taken = new Set<number>()
  for (const vip of held) {
    const off = typeof vip === 'string' ? addressOffset(cidr, vip) : undefined
    if (off !== undefined) taken.add(off)
  }
  const offset = nextFreeOffset(cidr, cursor, (o) => taken.has(o))
  if (offset === undefined) return { ok: false, inUse: taken.size }
  return { ok: true, vip: nthAddress(cidr, offset), cursor: offset + 1 }
}
