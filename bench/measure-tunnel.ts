/**
 * One measurement of one tunnel arm: iperf3 for bulk throughput, then the connection loop
 * for new connections per second, each while sampling the CPU time of the arm's processes
 * (both agents, or both stunnels) and, for nodemesh, the HTTP/2 sessions the loop used.
 */
import { connectionLoop } from './connection-loop'
import { runIperf } from './iperf-client'
import { cpuTicks, ticksToMicros } from './proc-cpu'
import { callSizes, ioCounters, type CallSizes } from './proc-io'
import type { TunnelArm } from './tunnel-arm'

/** The figures of one tunnel arm: per round here, as medians in the summary. */
export interface TunnelFigures {
  readonly gbps: number
  /** CPU of the arm's processes per MB (10^6 bytes) received by iperf3; null for direct. */
  readonly cpuUsPerMB: number | null
  /** The same during the iperf3 run, in % of one core, source side and destination side. */
  readonly cpuPctIperf: readonly [number, number] | null
  /** Mean size of the read and write calls during the iperf3 run, source process then destination process. */
  readonly iperfCalls: readonly CallSizes[] | null
  readonly connPerSecond: number
  readonly cpuUsPerConn: number | null
  readonly cpuPctLoop: readonly [number, number] | null
  readonly connP50Us: number
  readonly connP99Us: number
  /** Backend (iperf3 server, nginx worker) CPU per connection of the loop. */
  readonly backendCpuUsPerConn: number
  /** nodemesh: tunnel sessions B accepted during the loop (0 when the pool reuses its session). */
  readonly sessions: number | null
  readonly errors: number
}

export interface TunnelSample extends TunnelFigures {
  readonly round: number
  readonly retransmits: number
  readonly firstError?: string
}

export interface TunnelMeasureSettings {
  readonly durationS: number
  readonly backendPids: () => number[]
}

export async function measureTunnelArm(arm: TunnelArm, round: number, s: TunnelMeasureSettings): Promise<TunnelSample> {
  const pids = arm.proxyPids()
  const hasCost = pids.length > 0

  const iperfCpu = cpuSplit(pids)
  const ioBefore = pids.map(ioCounters)
  const iperf = await runIperf(arm.iperf, s.durationS)
  const iperfUs = iperfCpu.done()
  const iperfCalls = pids.map((pid, i) => callSizes(ioBefore[i]!, ioCounters(pid)))

  const loopCpu = cpuSplit(pids)
  const backendBefore = cpuTicks(s.backendPids())
  // Read before and after, not during: sampling sockets while the loop runs slowed it by a quarter.
  const sessionsBefore = await arm.tunnelSessionsAccepted?.()
  const loop = await connectionLoop(arm.http, s.durationS)
  const sessionCount = sessionsBefore === undefined ? null : (await arm.tunnelSessionsAccepted!()) - sessionsBefore
  const loopUs = loopCpu.done()
  const backendUs = ticksToMicros(cpuTicks(s.backendPids()) - backendBefore)

  const pct = (us: readonly [number, number], wallUs: number): readonly [number, number] => [100 * us[0] / wallUs, 100 * us[1] / wallUs]
  const conns = Math.max(loop.connections, 1)
  return {
    round,
    gbps: iperf.bitsPerSecond / 1e9,
    retransmits: iperf.retransmits,
    cpuUsPerMB: hasCost ? (iperfUs[0] + iperfUs[1]) / (iperf.bytes / 1e6) : null,
    cpuPctIperf: hasCost ? pct(iperfUs, iperf.seconds * 1e6) : null,
    iperfCalls: hasCost ? iperfCalls : null,
    connPerSecond: loop.perSecond,
    cpuUsPerConn: hasCost ? (loopUs[0] + loopUs[1]) / conns : null,
    cpuPctLoop: hasCost ? pct(loopUs, loop.durationUs) : null,
    connP50Us: loop.p50Us,
    connP99Us: loop.p99Us,
    backendCpuUsPerConn: backendUs / conns,
    sessions: sessionCount,
    errors: loop.errors,
    ...(loop.firstError !== undefined ? { firstError: loop.firstError } : {}),
  }
}

/** CPU time of the source-side process(es) and the destination-side one, from now until done(). */
function cpuSplit(pids: readonly number[]): { done(): [number, number] } {
  const src = pids.slice(0, 1)
  const dst = pids.slice(1)
  const before = [cpuTicks(src), cpuTicks(dst)]
  return { done: () => [ticksToMicros(cpuTicks(src) - before[0]!), ticksToMicros(cpuTicks(dst) - before[1]!)] }
}
