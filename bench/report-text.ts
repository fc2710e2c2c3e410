/** What every suite's report shares: medians, number formats, the text table, target lines, the JSON file. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** A ratio against the limit; pass is null when the ratio could not be measured. */
export interface Target { readonly what: string; readonly limit: string; readonly value: number | null; readonly pass: boolean | null }

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b)
  const mid = v.length >> 1
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

/** Median of the known values; null when none is known (an arm without a process to measure). */
export function medianOrNull(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length ? median(known) : null
}

export const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`)
export const fmtRatio = (r: number | null): string => (r === null ? 'n/a' : `${r.toFixed(2)}x`)

export function targetLine(t: Target): string {
  return `target ${t.what} ${t.limit}: ${fmtRatio(t.value)} ${t.pass === null ? 'N/A' : t.pass ? 'PASS' : 'MISS'}`
}

/** The header row, a rule, then the rows; the first column left-aligned, the rest right-aligned. */
export function textTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)]
}

export function loadAverageLine(): string {
  return `1-min load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs at the end (anything else running skews the figures)`
}

export function writeJsonFile(file: string, doc: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n')
}
