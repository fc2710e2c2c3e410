/** Medians over rounds, the comparison table, the ratios against the targets, and the JSON file. */
import os from 'node:os'
import type { Arm, Skipped } from './arm'
import type { ArmName, BenchOptions } from './bench-options'
import type { Sample } from './measure'
import { fmtRatio, fmtUs, median, medianOrNull, targetLine, textTable, writeJsonFile, type Target } from './report-text'

export interface ArmSummary {
  readonly name: ArmName
  readonly describe: string
  readonly rps: number
  readonly cpuUsPerReq: number | null
  readonly cpuPct: number | null
  readonly backendCpuUsPerReq: number
  readonly p50Us: number
  readonly p99Us: number
  readonly errors: number
  readonly rounds: readonly Sample[]
}

export interface Ratio { readonly versus: ArmName; readonly rps: number | null; readonly cpuPerReq: number | null }


export function summarize(arm: Arm, samples: readonly Sample[]): ArmSummary {
  return {
    name: arm.name,
    describe: arm.describe,
    rps: median(samples.map((s) => s.rps)),
    cpuUsPerReq: medianOrNull(samples.map((s) => s.cpuUsPerReq)),
    cpuPct: medianOrNull(samples.map((s) => s.cpuPct)),
    backendCpuUsPerReq: median(samples.map((s) => s.backendCpuUsPerReq)),
    p50Us: median(samples.map((s) => s.p50Us)),
    p99Us: median(samples.map((s) => s.p99Us)),
    errors: samples.reduce((n, s) => n + s.errors, 0),
    rounds: samples,
  }
}

export function ratiosOf(arms: readonly ArmSummary[]): Ratio[] {
  const nm = arms.find((a) => a.name === 'nodemesh')
  if (!nm) return []
  return arms.filter((a) => a.name === 'haproxy' || a.name === 'nginx').map((peer) => ({
    versus: peer.name,
    rps: peer.rps > 0 ? nm.rps / peer.rps : null,
    cpuPerReq: nm.cpuUsPerReq !== null && peer.cpuUsPerReq ? nm.cpuUsPerReq / peer.cpuUsPerReq : null,
  }))
}

/** The targets: req/s at least 0.6x HAProxy's, CPU per request at most 2x HAProxy's. */
export function targetsOf(ratios: readonly Ratio[]): Target[] {
  const h = ratios.find((r) => r.versus === 'haproxy')
  const rps = h?.rps ?? null
  const cpu = h?.cpuPerReq ?? null
  return [
    { what: 'req/s nodemesh/haproxy', limit: '>= 0.60', value: rps, pass: rps === null ? null : rps >= 0.6 },
    { what: 'CPU per request nodemesh/haproxy', limit: '<= 2.00', value: cpu, pass: cpu === null ? null : cpu <= 2 },
  ]
}

export function formatReport(arms: readonly ArmSummary[], skipped: readonly Skipped[], opts: BenchOptions): string {
  const rows = [['arm', 'req/s', 'CPU-µs/req', 'CPU %', 'p50 (c=1)', 'p99 (c=1)', 'errors']]
  for (const a of arms) {
    rows.push([a.name, Math.round(a.rps).toLocaleString('en-US'), a.cpuUsPerReq === null ? '-' : a.cpuUsPerReq.toFixed(1),
      a.cpuPct === null ? '-' : a.cpuPct.toFixed(0), fmtUs(a.p50Us), fmtUs(a.p99Us), String(a.errors)])
  }
  const out = [
    `medians over ${opts.rounds} interleaved rounds; req/s and CPU at ${opts.connections} connections, latency at 1 connection; ${opts.durationS} s per wrk run`,
    '',
    ...textTable(rows),
    '',
  ]
  for (const a of arms) out.push(`  ${a.name}: ${a.describe}; backend CPU ${a.backendCpuUsPerReq.toFixed(1)} µs/req`)
  for (const s of skipped) out.push(`  ${s.name}: SKIPPED, ${s.reason}`)
  const ratios = ratiosOf(arms)
  if (ratios.length) {
    out.push('')
    for (const r of ratios) out.push(`nodemesh/${r.versus}: req/s ${fmtRatio(r.rps)}, CPU per request ${fmtRatio(r.cpuPerReq)}`)
    out.push('')
    for (const t of targetsOf(ratios)) out.push(targetLine(t))
  }
  return out.join('\n')
}

export function writeJson(file: string, arms: readonly ArmSummary[], skipped: readonly Skipped[], opts: BenchOptions): void {
  const ratios = ratiosOf(arms)
  const doc = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', kernel: os.release(), node: process.version },
    options: opts,
    arms,
    skipped,
    ratios,
    targets: ratios.length ? targetsOf(ratios) : [],
  }
  writeJsonFile(file, doc)
}
