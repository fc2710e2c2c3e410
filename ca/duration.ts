/** Durations as operators type them: `90s`, `30m`, `24h`, `7d`, or combined (`1h30m`). */
import { NmError } from '../registry/errors'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration(text: string, flag: string, limits: { minMs: number; maxMs: number }): number {
  const parts = /^(?:[0-9]+(?:ms|s|m|h|d))+$/.test(text) ? text.match(/[0-9]+(?:ms|s|m|h|d)/g) ?? [] : []
  if (parts.length === 0) throw new NmError('NM_BAD_ARGUMENT', `${flag} "${text}" must be a duration such as 90s, 30m, 24h or 7d`)
  let ms = 0
  for (const p of parts) {
    const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(p) as RegExpExecArray
    ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number)
  }
  if (ms < limits.minMs || ms > limits.maxMs) {
    throw new NmError('NM_BAD_ARGUMENT', `${flag} "${text}" must be between ${formatDuration(limits.minMs)} and ${formatDuration(limits.maxMs)}`)
  }
  return ms
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
