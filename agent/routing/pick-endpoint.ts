/**
 * Weighted power of two choices: sample two distinct endpoints with probability proportional
 * to weight, keep the one with fewer outstanding requests per unit of weight. Pure: load and
 * randomness come in as functions, so the choice is table-testable with a seeded PRNG.
 *
 * No arrays are built per pick (this runs per request); it walks the list at most three times.
 */
import type { CompiledEndpoint } from './routing-table'

export function pickEndpoint(
  endpoints: readonly CompiledEndpoint[],
  outstanding: (target: string) => number,
  random: () => number,
  exclude?: ReadonlySet<string>,
): CompiledEndpoint | undefined {
  let total = 0
  let count = 0
  let only: CompiledEndpoint | undefined
  for (let i = 0; i < endpoints.length; i++) {
    const ep = endpoints[i]!
    if (exclude !== undefined && exclude.has(ep.target)) continue
    total += weightOf(ep)
    count++
    only = ep
  }
  if (count <= 1) return only

  const first = sample(endpoints, total, random(), exclude, undefined)
  const second = sample(endpoints, total - weightOf(first), random(), exclude, first)
  // Lower load per unit of weight wins; on a tie the first draw (already weight-proportional) wins.
  const a = outstanding(first.target) / weightOf(first)
  const b = outstanding(second.target) / weightOf(second)
  return b < a ? second : first
}

function weightOf(ep: CompiledEndpoint): number {
  return ep.weight > 0 ? ep.weight : 1
}

/** One weighted draw among the endpoints not excluded and not `skip`; `total` is their weight. */
function sample(
  endpoints: readonly CompiledEndpoint[],
  total: number,
  r: number,
  exclude: ReadonlySet<string> | undefined,
  skip: CompiledEndpoint | undefined,
): CompiledEndpoint {
  let x = r * total
  let last: CompiledEndpoint | undefined
  for (let i = 0; i < endpoints.length; i++) {
    const ep = endpoints[i]!
    if (ep === skip || (exclude !== undefined && exclude.has(ep.target))) continue
    last = ep
    x -= weightOf(ep)
    if (x < 0) return ep
  }
  // Only reached through floating-point rounding when r is close to 1.
  return last!
}
