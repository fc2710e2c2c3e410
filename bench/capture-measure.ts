/**
 * One measurement of one capture-suite arm: iperf3, then the connection loop, each run by
 * capture-client-main.js in the arm's namespace (or the root one), while the arm's processes'
 * CPU time is read from /proc before and after.
 */
import { runIn } from './bench-netns'
import { CLIENT, type CaptureArm } from './capture-arms'
import type { LoopResult } from './connection-loop'
import type { IperfResult } from './iperf-client'
import { cpuTicks, ticksToMicros } from './proc-cpu'
import { run } from './processes'

export interface CaptureSample {
  readonly round: number
  readonly gbps: number
  readonly cpuUsPerMB: number | null
  readonly connPerSecond: number
  readonly cpuUsPerConn: number | null
  readonly connP50Us: number
  readonly errors: number
  readonly firstError?: string
}

async function client<T>(arm: CaptureArm, args: string[], durationS: number): Promise<T> {
  const argv = [CLIENT, ...args]
  const timeout = (durationS + 40) * 1000
  const r = arm.ns ? await runIn(arm.ns, process.execPath, argv, timeout) : await run(process.execPath, argv, process.env, timeout)
  if (r.code !== 0) throw new Error(`${args.join(' ')}${arm.ns ? ` in ${arm.ns}` : ''} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T
}

export async function measureCaptureArm(arm: CaptureArm, round: number, durationS: number): Promise<CaptureSample> {
  const hasCost = arm.pids.length > 0
  let before = cpuTicks(arm.pids)
  const iperf = await client<IperfResult>(arm, ['iperf', arm.iperf.host, String(arm.iperf.port), String(durationS)], durationS)
  const iperfUs = ticksToMicros(cpuTicks(arm.pids) - before)
  before = cpuTicks(arm.pids)
  const loop = await client<LoopResult>(arm, ['loop', arm.http.host, String(arm.http.port), String(durationS)], durationS)
  const loopUs = ticksToMicros(cpuTicks(arm.pids) - before)
  return {
    round,
    gbps: iperf.bitsPerSecond / 1e9,
    cpuUsPerMB: hasCost ? iperfUs / (iperf.bytes / 1e6) : null,
    connPerSecond: loop.perSecond,
    cpuUsPerConn: hasCost ? loopUs / Math.max(loop.connections, 1) : null,
    connP50Us: loop.p50Us,
    errors: loop.errors,
    ...(loop.firstError !== undefined ? { firstError: loop.firstError } : {}),
  }
}

/** Warm-up: JIT compiled, conntrack and listeners exercised, before anything counts. */
export async function warmUp(arm: CaptureArm): Promise<void> {
  await client<IperfResult>(arm, ['iperf', arm.iperf.host, String(arm.iperf.port), '1'], 1)
  await client<LoopResult>(arm, ['loop', arm.http.host, String(arm.http.port), '1'], 1)
}
