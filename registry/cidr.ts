/**
 * IPv4 CIDR arithmetic for VIP allocation, shared by every store. Pure: addresses are handled
 * as unsigned 32-bit integers so that "the nth host of a block" is plain addition.
 */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer (host bits zero). */
  readonly base: number
  readonly prefix: number
  /** Number of addresses in the block, network and broadcast included. */
  readonly size: number
  /** Canonical text, `a.b.c.d/p`. */
  readonly text: string
}

export type CidrResult = { ok: true; value: Ipv4Cidr } | { ok: false; reason: string }

const OCTET = /^(0|[1-9][0-9]{0,2})$/

/** Dotted-quad IPv4 to an unsigned integer, or undefined when it is not one. */
export function ipv4ToInt(addr: string): number | undefined {
  const parts = addr.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined
    const v = Number(p)
    if (v > 255) return undefined
    n = n * 256 + v
  }
  return n
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/**
 * Parses `a.b.c.d/p`. Host bits must be zero, so that a typo such as `10.0.0.1/16` is caught
 * instead of silently meaning `10.0.0.0/16`.
 */
export function parseCidr(text: string, limits: { minPrefix?: number; maxPrefix?: number } = {}): CidrResult {
  const minPrefix = limits.minPrefix ?? 0
  const maxPrefix = limits.maxPrefix ?? 32
  const slash = text.indexOf('/')
  if (slash < 0) return { ok: false, reason: `"${text}" is not an IPv4 CIDR (want a.b.c.d/prefix)` }
  const base = ipv4ToInt(text.slice(0, slash))
  const prefixText = text.slice(slash + 1)
  if (base === undefined) return { ok: false, reason: `"${text}" is not an IPv4 CIDR (want a.b.c.d/prefix)` }
  if (!/^[0-9]{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    return { ok: false, reason: `"${text}" has a bad prefix length (want 0..32)` }
  }
  const prefix = Number(prefixText)
  if (prefix < minPrefix || prefix > maxPrefix) {
    return { ok: false, reason: `"${text}" prefix must be /${minPrefix}../${maxPrefix}, got /${prefix}` }
  }
  const size = 2 ** (32 - prefix)
  const network = base - (base % size)
  if (network !== base) {
    return { ok: false, reason: `"${text}" has host bits set; did you mean ${intToIpv4(network)}/${prefix}?` }
  }
  return { ok: true, value: { base, prefix, size, text: `${intToIpv4(base)}/${prefix}` } }
}

/** Like parseCidr, but throws a plain Error; for CIDRs that were validated already. */
export function mustParseCidr(text: string): Ipv4Cidr {
  const r = parseCidr(text)
  if (!r.ok) throw new Error(r.reason)
  return r.value
}

export function cidrContains(cidr: Ipv4Cidr, addr: string): boolean {
  const n = ipv4ToInt(addr)
  return n !== undefined && n >= cidr.base && n < cidr.base + cidr.size
}

/** The address at `offset` from the network address; throws RangeError outside the block. */
export function nthAddress(cidr: Ipv4Cidr, offset: number): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= cidr.size) {
    throw new RangeError(`offset ${offset} is outside ${cidr.text} (size ${cidr.size})`)
  }
  return intToIpv4(cidr.base + offset)
}

/** Offset of `addr` inside the block, or undefined when outside. */
export function addressOffset(cidr: Ipv4Cidr, addr: string): number | undefined {
  const n = ipv4ToInt(addr)
  if (n === undefined || n < cidr.base || n >= cidr.base + cidr.size) return undefined
  return n - cidr.base
}

/**
 * Offsets usable as VIPs: all but the network and broadcast address (blocks of /31 and /32
 * have neither, as in RFC 3021).
 */
export function hostOffsets(cidr: Ipv4Cidr): { first: number; last: number; count: number } {
  if (cidr.size <= 2) return { first: 0, last: cidr.size - 1, count: cidr.size }
  return { first: 1, last: cidr.size - 2, count: cidr.size - 2 }
}

/**
 * Picks the first free host offset at or after `start` (wrapping around), so that allocation
 * rotates and a VIP that was just freed is not handed out again at once. Returns undefined
 * when every host address is taken.
 */
export function nextFreeOffset(cidr: Ipv4Cidr, start: number, isTaken: (offset: number) => boolean): number | undefined {
  const { first, count } = hostOffsets(cidr)
  const from = Number.isInteger(start) && start >= first && start < first + count ? start - first : 0
  for (let i = 0; i < count; i++) {
    const offset = first + ((from + i) % count)
    if (!isTaken(offset)) return offset
  }
  return undefined
}
