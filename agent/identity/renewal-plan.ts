/** When to renew and how long to wait after a failure: plain functions of time. */

export const DEFAULT_RENEW_FRACTION = 0.5
export const RETRY_BASE_MS = 1_000
export const RETRY_CAP_MS = 60_000

/**
 * Renew once `fraction` of the lifetime left at receipt has passed. Measured from receipt,
 * not notBefore, because the CA backdates notBefore for clock skew.
 */
export function renewAt(receivedAt: Date, notAfter: Date, fraction: number = DEFAULT_RENEW_FRACTION): Date {
  const life = Math.max(0, notAfter.getTime() - receivedAt.getTime())
  return new Date(receivedAt.getTime() + life * fraction)
}

/**
 * Capped exponential backoff with jitter (between half and all of the step), never past
 * `until` (e.g. expiry) when given, so a failing renewal still tries before the end.
 */
export function retryDelayMs(attempt: number, random: number, opts: { baseMs?: number; capMs?: number; untilMs?: number } = {}): number {
  const base = opts.baseMs ?? RETRY_BASE_MS
  const cap = opts.capMs ?? RETRY_CAP_MS
  const step = Math.min(cap, base * 2 ** Math.min(attempt, 30))
  let delay = step / 2 + (step / 2) * random
  if (opts.untilMs !== undefined && opts.untilMs > 0) delay = Math.min(delay, Math.max(base / 2, opts.untilMs / 2))
  return Math.round(delay)
}

/** Identities to request and to drop, given what is held and what the snapshot wants. */
export function planWanted(held: Iterable<string>, wanted: readonly string[]): { add: string[]; drop: string[] } {
  const want = new Set(wanted)
  const have = new Set(held)
  return { add: [...want].filter((id) => !have.has(id)), drop: [...have].filter((id) => !want.has(id)) }
}
