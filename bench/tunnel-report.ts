/** Tunnel suite: medians over rounds, the table, nodemesh/stunnel ratios against the targets, the JSON file. */
import os from 'node:os'
import type { BenchOptions, TunnelArmName } from './bench-options'
import type { TunnelFigures, TunnelSample } from './measure-tunnel'
import type { CallSizes } from './proc-io'
import { fmtRatio, fmtUs, loadAverageLine, median, medianOrNull, targetLine, textTable, writeJsonFile, type Target } from './report-text'
import type { TunnelArm, TunnelSkipped } from './tunnel-arm'

/** Medians over rounds (sessions: the most seen in any round). */
export interface TunnelArmSummary extends TunnelFigures {
  readonly name: TunnelArmName
  readonly describe: string
  readonly rounds: readonly TunnelSample[]
}

const known = <T>(v: ReadonlyArray<T | null>): T[] => v.filter((x): x is T => x !== null)
const medianPair = (v: ReadonlyArray<readonly [number, number] | null>): [number, number] | null =>
  known(v).length ? [median(known(v).map((p) => p[0])), median(known(v).map((p) => p[1]))] : null

function medianCalls(v: ReadonlyArray<readonly CallSizes[] | null>): CallSizes[] | null {
  const k = known(v)
  if (!k.length) return null
  return (k[0] as readonly CallSizes[]).map((_, i) => ({
    readKiB: median(k.map((c) => c[i]?.readKiB ?? 0)), writeKiB: median(k.map((c) => c[i]?.writeKiB ?? 0)),
  }))
}

export function summarizeTunnel(arm: TunnelArm, samples: readonly TunnelSample[]): TunnelArmSummary {
  const sessions = known(samples.map((s) => s.sessions))
  return {
    name: arm.name, describe: arm.describe,
    gbps: median(samples.map((s) => s.gbps)),
    cpuUsPerMB: medianOrNull(samples.map((s) => s.cpuUsPerMB)),
    cpuPctIperf: medianPair(samples.map((s) => s.cpuPctIperf)),
    iperfCalls: medianCalls(samples.map((s) => s.iperfCalls)),
    connPerSecond: median(samples.map((s) => s.connPerSecond)),
    cpuUsPerConn: medianOrNull(samples.map((s) => s.cpuUsPerConn)),
    cpuPctLoop: medianPair(samples.map((s) => s.cpuPctLoop)),
    connP50Us: median(samples.map((s) => s.connP50Us)),
    connP99Us: median(samples.map((s) => s.connP99Us)),
    backendCpuUsPerConn: median(samples.map((s) => s.backendCpuUsPerConn)),
    sessions: sessions.length ? Math.max(...sessions) : null,
    errors: samples.reduce((n, s) => n + s.errors, 0),
    rounds: samples,
  }
}

export interface TunnelRatios { readonly gbps: number | null; readonly connPerSecond: number | null; readonly cpuPerMB: number | null; readonly cpuPerConn: number | null }

export function tunnelRatios(arms: readonly TunnelArmSummary[]): TunnelRatios | null {
  const nm = arms.find((a) => a.name === 'nodemesh')
  const st = arms.find((a) => a.name === 'stunnel')
  if (!nm || !st) return null
  const div = (a: number | null, b: number | null): number | null => (a !== null && b ? a / b : null)
  return { gbps: div(nm.gbps, st.gbps), connPerSecond: div(nm.connPerSecond, st.connPerSecond), cpuPerMB: div(nm.cpuUsPerMB, st.cpuUsPerMB), cpuPerConn: div(nm.cpuUsPerConn, st.cpuUsPerConn) }
}

/** The targets: throughput at least 1.0x stunnel's, new connections per second at least 20x. */
export function tunnelTargets(r: TunnelRatios | null): Target[] {
  const t = (what: string, limit: number, value: number | null): Target =>
    ({ what, limit: `>= ${limit.toFixed(2)}`, value, pass: value === null ? null : value >= limit })
  return [t('throughput nodemesh/stunnel', 1, r?.gbps ?? null), t('new connections/s nodemesh/stunnel', 20, r?.connPerSecond ?? null)]
}

const fmtPair = (p: readonly [number, number] | null): string => (p === null ? '-' : `${p[0].toFixed(0)}+${p[1].toFixed(0)}`)

export function formatTunnelReport(arms: readonly TunnelArmSummary[], skipped: readonly TunnelSkipped[], opts: BenchOptions): string {
  const rows = [['arm', 'Gbit/s', 'CPU-µs/MB', 'CPU % src+dst', 'conn/s', 'CPU-µs/conn', 'CPU % src+dst', 'conn p50', 'conn p99', 'new sessions', 'errors']]
  for (const a of arms) {
    rows.push([a.name, a.gbps.toFixed(2), a.cpuUsPerMB === null ? '-' : a.cpuUsPerMB.toFixed(1), fmtPair(a.cpuPctIperf),
      Math.round(a.connPerSecond).toLocaleString('en-US'), a.cpuUsPerConn === null ? '-' : a.cpuUsPerConn.toFixed(0), fmtPair(a.cpuPctLoop),
      fmtUs(a.connP50Us), fmtUs(a.connP99Us), a.sessions === null ? '-' : String(a.sessions), String(a.errors)])
  }
  const out = [
    `tunnel suite: medians over ${opts.rounds} interleaved rounds, ${opts.durationS} s per run; iperf3 -t ${opts.durationS} (one TCP stream), ` +
      'then new connections one after another, each one HTTP/1.0 request; CPU is the two processes of the arm (source + destination), ' +
      'MB = 10^6 bytes received; new sessions = tunnel sessions the destination agent accepted during the loop (0: the pool reused its session)',
    loadAverageLine(),
    '',
    ...textTable(rows),
    '',
  ]
  for (const a of arms) out.push(`  ${a.name}: ${a.describe}; backend CPU ${a.backendCpuUsPerConn.toFixed(0)} µs/conn`)
  for (const a of arms) {
    if (!a.iperfCalls) continue
    const side = (c: CallSizes | undefined, where: string): string => (c ? `${where} ${c.readKiB.toFixed(1)} KiB/read ${c.writeKiB.toFixed(1)} KiB/write` : '')
    out.push(`  ${a.name}: mean syscall size under iperf3: ${side(a.iperfCalls[0], 'source')}; ${side(a.iperfCalls[1], 'destination')}`)
  }
  for (const s of skipped) out.push(`  ${s.name}: SKIPPED, ${s.reason}`)
  for (const a of arms) {
    const firstError = a.rounds.find((s) => s.firstError !== undefined)?.firstError
    if (firstError !== undefined) out.push(`  ${a.name}: first connection error: ${firstError}`)
  }
  const direct = arms.find((a) => a.name === 'direct')
  const stunnel = arms.find((a) => a.name === 'stunnel')
  if (direct && stunnel && stunnel.connPerSecond > 0) {
    // One connection at a time: no arm can beat the direct path, so this bounds the conn/s ratio.
    out.push(`  ceiling of the new-connections ratio on this machine: direct/stunnel = ${fmtRatio(direct.connPerSecond / stunnel.connPerSecond)}`)
  }
  // nodemesh is two node:net hops and an HTTP/2 session, so it does at least what these do per
  // connection. node-relay, without TLS, also bounds throughput; node-h2 does not, as its plain
  // pipe writes HTTP/2's small pieces one by one.
  const relay = arms.find((a) => a.name === 'node-relay')
  const h2 = arms.find((a) => a.name === 'node-h2')
  if (stunnel && stunnel.connPerSecond > 0 && stunnel.gbps > 0) {
    if (relay) out.push(`  ceiling for nodemesh on Node: one plain node:net hop (node-relay)/stunnel = ${fmtRatio(relay.connPerSecond / stunnel.connPerSecond)} new connections/s, ${fmtRatio(relay.gbps / stunnel.gbps)} throughput`)
    if (h2) out.push(`  ceiling for nodemesh on Node: a bare node:http2 tunnel (node-h2)/stunnel = ${fmtRatio(h2.connPerSecond / stunnel.connPerSecond)} new connections/s`)
  }
  const r = tunnelRatios(arms)
  if (r) {
    out.push('', `nodemesh/stunnel: throughput ${fmtRatio(r.gbps)}, new connections/s ${fmtRatio(r.connPerSecond)}, ` +
      `CPU per MB ${fmtRatio(r.cpuPerMB)}, CPU per connection ${fmtRatio(r.cpuPerConn)}`, '')
    for (const t of tunnelTargets(r)) out.push(targetLine(t))
  }
  return out.join('\n')
}

export function writeTunnelJson(file: string, arms: readonly TunnelArmSummary[], skipped: readonly TunnelSkipped[], opts: BenchOptions): void {
  const ratios = tunnelRatios(arms)
  const doc = {
    suite: 'tunnel',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadavg: os.loadavg(), model: os.cpus()[0]?.model ?? 'unknown', kernel: os.release(), node: process.version },
    options: opts,
    arms,
    skipped,
    ratios,
    targets: ratios ? tunnelTargets(ratios) : [],
  }
  writeJsonFile(file, doc)
}
