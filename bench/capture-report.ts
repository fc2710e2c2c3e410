/** Capture suite: medians over rounds, the table, capture/bind ratios against the target, ratios to stunnel, the JSON file. */
import os from 'node:os'
import type { BenchOptions } from './bench-options'
import type { CaptureArm, CaptureArmName, CaptureSkipped } from './capture-arms'
import type { CaptureFigures, CaptureSample } from './capture-measure'
import { fmtRatio, loadAverageLine, targetLine, median, medianOrNull, textTable, writeJsonFile } from './report-text'

export interface CaptureSummary extends CaptureFigures {
  readonly name: CaptureArmName
  readonly describe: string
  readonly rounds: readonly CaptureSample[]
  /** Mark-compacts in the agent over all rounds; null for arms without an agent. */
  readonly agentMajorGcs: number | null
}

export interface Ratio { readonly what: string; readonly value: number | null; readonly limit?: string; readonly pass?: boolean | null }


export function summarizeCapture(arm: CaptureArm, samples: readonly CaptureSample[], agentMajorGcs: number | null): CaptureSummary {
  return {
    name: arm.name, describe: arm.describe, agentMajorGcs,
    gbps: median(samples.map((s) => s.gbps)), cpuUsPerMB: medianOrNull(samples.map((s) => s.cpuUsPerMB)),
    connPerSecond: median(samples.map((s) => s.connPerSecond)), cpuUsPerConn: medianOrNull(samples.map((s) => s.cpuUsPerConn)),
    machineUsPerMB: median(samples.map((s) => s.machineUsPerMB)), machineUsPerConn: median(samples.map((s) => s.machineUsPerConn)),
    connP50Us: median(samples.map((s) => s.connP50Us)), errors: samples.reduce((n, s) => n + s.errors, 0), rounds: samples,
  }
}

/**
 * capture against each bind arm, with the target (capture costs at most 10% more: >= 0.90 for
 * rates, <= 1.10 for the whole machine's CPU per MB and per connection): against bind-ct, on a
 * host that tracks connections anyway, capture adds the NAT; against bind, in a namespace with
 * no netfilter at all, it also adds conntrack. Then capture and bind against stunnel.
 */
export function captureRatios(arms: readonly CaptureSummary[]): Ratio[] {
  const by = (n: CaptureArmName): CaptureSummary | undefined => arms.find((a) => a.name === n)
  const div = (a: number | null | undefined, b: number | null | undefined): number | null => (a != null && b ? a / b : null)
  // Capture may cost at most 10% more: a rate at least 0.90 of the base's, a cost at most 1.10.
  const target = (what: string, value: number | null, rate: boolean): Ratio =>
    ({ what, value, limit: rate ? '>= 0.90' : '<= 1.10', pass: value === null ? null : rate ? value >= 0.9 : value <= 1.1 })
  const cap = by('capture'), st = by('stunnel')
  const out: Ratio[] = []
  for (const base of [by('bind-ct'), by('bind')]) {
    if (!base) continue
    const vs = `capture/${base.name}`
    out.push(target(`throughput ${vs}`, div(cap?.gbps, base.gbps), true), target(`new connections/s ${vs}`, div(cap?.connPerSecond, base.connPerSecond), true),
      target(`machine CPU per MB ${vs}`, div(cap?.machineUsPerMB, base.machineUsPerMB), false), target(`machine CPU per connection ${vs}`, div(cap?.machineUsPerConn, base.machineUsPerConn), false),
      { what: `CPU per MB ${vs}`, value: div(cap?.cpuUsPerMB, base.cpuUsPerMB) }, { what: `CPU per connection ${vs}`, value: div(cap?.cpuUsPerConn, base.cpuUsPerConn) })
  }
  for (const a of [cap, by('bind')]) {
    if (!a) continue
    out.push({ what: `throughput ${a.name}/stunnel`, value: div(a.gbps, st?.gbps) }, { what: `new connections/s ${a.name}/stunnel`, value: div(a.connPerSecond, st?.connPerSecond) },
      { what: `CPU per MB ${a.name}/stunnel`, value: div(a.cpuUsPerMB, st?.cpuUsPerMB) }, { what: `CPU per connection ${a.name}/stunnel`, value: div(a.cpuUsPerConn, st?.cpuUsPerConn) })
  }
  return out
}

export function formatCaptureReport(arms: readonly CaptureSummary[], skipped: readonly CaptureSkipped[], opts: BenchOptions): string {
  const rows = [['arm', 'Gbit/s', 'CPU-µs/MB', 'machine-µs/MB', 'conn/s', 'CPU-µs/conn', 'machine-µs/conn', 'conn p50', 'errors']]
  for (const a of arms) {
    rows.push([a.name, a.gbps.toFixed(2), a.cpuUsPerMB === null ? '-' : a.cpuUsPerMB.toFixed(1), a.machineUsPerMB.toFixed(0), Math.round(a.connPerSecond).toLocaleString('en-US'),
      a.cpuUsPerConn === null ? '-' : a.cpuUsPerConn.toFixed(0), a.machineUsPerConn.toFixed(0), `${Math.round(a.connP50Us)} µs`, String(a.errors)])
  }
  const out = [
    `capture suite: medians over ${opts.rounds} rounds; in each, the arms take turns in 1 s slices, ${opts.durationS} per arm: iperf3 -t 1 (one TCP stream), ` +
      'then new connections one after another, each one HTTP/1.0 request, from one warm client process per arm; CPU is the agent process (stunnel: client + server), ' +
      'machine is the busy time of all CPUs (user, system, irq, softirq: clients, backends and the kernel included) while the arm ran, MB = 10^6 bytes received',
    loadAverageLine(),
    '', ...textTable(rows), '',
  ]
  for (const a of arms) out.push(`  ${a.name}: ${a.describe}${a.agentMajorGcs === null ? '' : `; ${a.agentMajorGcs} major GCs in the agent over the rounds`}`)
  for (const s of skipped) out.push(`  ${s.name}: SKIPPED, ${s.reason}`)
  for (const a of arms) {
    const e = a.rounds.find((s) => s.firstError !== undefined)?.firstError
    if (e !== undefined) out.push(`  ${a.name}: first connection error: ${e}`)
  }
  out.push('')
  for (const r of captureRatios(arms)) {
    out.push(r.limit === undefined ? `${r.what}: ${fmtRatio(r.value)}` : targetLine({ what: r.what, limit: r.limit, value: r.value, pass: r.pass ?? null }))
  }
  return out.join('\n')
}

export function writeCaptureJson(file: string, arms: readonly CaptureSummary[], skipped: readonly CaptureSkipped[], opts: BenchOptions): void {
  const doc = {
    suite: 'capture', date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadavg: os.loadavg(), model: os.cpus()[0]?.model ?? 'unknown', kernel: os.release(), node: process.version },
    options: opts, arms, skipped, ratios: captureRatios(arms),
  }
  writeJsonFile(file, doc)
}
