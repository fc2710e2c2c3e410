/**
 * Measurements of the capture suite's arms: iperf3 and the connection loop, each run by
 * capture-client-main.js in the arm's namespace (or the root one), while the arm's processes'
 * CPU time is read from /proc before and after.
 */
import readline from 'node:readline'
import { startIn } from './bench-netns'
import { CLIENT, type CaptureArm, type CaptureArmName } from './capture-arms'
import type { LoopResult } from './connection-loop'
import type { IperfResult } from './iperf-client'
import { cpuTicks, machineBusyTicks, ticksToMicros } from './proc-cpu'
import { startProcess, type Managed } from './processes'
import { median } from './report-text'

/** One arm's figures: of one round, or over rounds (medians; errors summed). */
export interface CaptureFigures {
  readonly gbps: number
  readonly cpuUsPerMB: number | null
  readonly connPerSecond: number
  readonly cpuUsPerConn: number | null
  /** Busy time of the whole machine per MB and per connection while the arm ran: everything the path costs. */
  readonly machineUsPerMB: number
  readonly machineUsPerConn: number
  readonly connP50Us: number
  readonly errors: number
}

export interface CaptureSample extends CaptureFigures {
  readonly round: number
  readonly firstError?: string
}

/**
 * One client process per arm for the whole suite (capture-client-main.js serve), in the arm's
 * namespace: every slice then measures a warm client, as a real one is. A process started per
 * slice spent a good part of its one second compiling, and the direct arm, the ceiling, showed
 * a third of its steady rate.
 */
export class ArmClient {
  private readonly proc: Managed
  /** The client answers each command with one line; the iterator keeps lines no one awaited yet. */
  private readonly lines: AsyncIterator<string>

  constructor(private readonly arm: CaptureArm) {
    const name = `${arm.name} client`
    this.proc = arm.ns ? startIn(arm.ns, name, process.execPath, [CLIENT, 'serve'], process.env, 'pipe') : startProcess(name, process.execPath, [CLIENT, 'serve'], process.env, 'pipe')
    this.lines = readline.createInterface({ input: this.proc.child.stdout! })[Symbol.asyncIterator]()
  }

  async run<T>(args: readonly string[], durationS: number): Promise<T> {
    const where = `${args.join(' ')}${this.arm.ns ? ` in ${this.arm.ns}` : ''}`
    this.proc.child.stdin?.write(`${args.join(' ')}\n`)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${where}: no answer within ${durationS + 40} s\n${this.proc.tail()}`)), (durationS + 40) * 1000)
    })
    const next = await Promise.race([this.lines.next(), timeout]).finally(() => clearTimeout(timer))
    if (next.done === true) throw new Error(`${where}: the client exited\n${this.proc.tail()}`)
    const answer = JSON.parse(next.value) as T & { error?: string }
    if (answer.error !== undefined) throw new Error(`${where} failed: ${answer.error}`)
    return answer
  }

  stop(): Promise<void> {
    this.proc.child.stdin?.end()
    return this.proc.stop()
  }
}

/** Length of one slice: arms take turns slice by slice, so a change in machine load lands on all of them. */
const SLICE_S = 1

interface Totals { bytes: number; iperfS: number; iperfUs: number; iperfMachineUs: number; conns: number; loopS: number; loopUs: number; loopMachineUs: number; p50s: number[]; errors: number; firstError?: string }

/**
 * One round: `durationS` one-second iperf3 slices per arm, the arms taking turns, then the
 * same for the connection loop. Each arm's figures sum its slices. Taking turns second by
 * second, rather than one arm for the whole duration, is what keeps a ratio between two arms
 * steady on a shared machine whose load drifts within seconds.
 */
export async function measureCaptureRound(arms: readonly CaptureArm[], clients: ReadonlyMap<CaptureArmName, ArmClient>, round: number, durationS: number): Promise<Map<CaptureArmName, CaptureSample>> {
  const totals = new Map<CaptureArmName, Totals>(arms.map((a) => [a.name, { bytes: 0, iperfS: 0, iperfUs: 0, iperfMachineUs: 0, conns: 0, loopS: 0, loopUs: 0, loopMachineUs: 0, p50s: [], errors: 0 }]))
  const slices = Math.max(1, Math.round(durationS / SLICE_S))
  // Every arm once per slice, the order rotated each slice; `step` gets the arm's CPU time and
  // the machine's over its turn.
  const inTurns = async <R>(command: (arm: CaptureArm) => string[], step: (t: Totals, r: R, cpuUs: number, machineUs: number) => void): Promise<void> => {
    for (let i = 0; i < slices; i++) {
      const shift = (round + i) % arms.length
      for (const arm of [...arms.slice(shift), ...arms.slice(0, shift)]) {
        const before = cpuTicks(arm.pids)
        const machineBefore = machineBusyTicks()
        const r = await clients.get(arm.name)!.run<R>([...command(arm), String(SLICE_S)], SLICE_S)
        step(totals.get(arm.name)!, r, ticksToMicros(cpuTicks(arm.pids) - before), ticksToMicros(machineBusyTicks() - machineBefore))
      }
    }
  }
  await inTurns<IperfResult>((arm) => ['iperf', arm.iperf.host, String(arm.iperf.port)], (t, r, cpuUs, machineUs) => {
    t.iperfUs += cpuUs
    t.iperfMachineUs += machineUs
    t.bytes += r.bytes
    t.iperfS += r.seconds
  })
  await inTurns<LoopResult>((arm) => ['loop', arm.http.host, String(arm.http.port)], (t, r, cpuUs, machineUs) => {
    t.loopUs += cpuUs
    t.loopMachineUs += machineUs
    t.conns += r.connections
    t.loopS += r.durationUs / 1e6
    t.p50s.push(r.p50Us)
    t.errors += r.errors
    if (r.firstError !== undefined) t.firstError ??= r.firstError
  })
  const out = new Map<CaptureArmName, CaptureSample>()
  for (const arm of arms) {
    const t = totals.get(arm.name)!
    const hasCost = arm.pids.length > 0
    out.set(arm.name, {
      round,
      gbps: (t.bytes * 8) / t.iperfS / 1e9,
      cpuUsPerMB: hasCost ? t.iperfUs / (t.bytes / 1e6) : null,
      connPerSecond: t.conns / t.loopS,
      cpuUsPerConn: hasCost ? t.loopUs / Math.max(t.conns, 1) : null,
      machineUsPerMB: t.iperfMachineUs / (t.bytes / 1e6),
      machineUsPerConn: t.loopMachineUs / Math.max(t.conns, 1),
      connP50Us: median(t.p50s),
      errors: t.errors,
      ...(t.firstError !== undefined ? { firstError: t.firstError } : {}),
    })
  }
  return out
}

/** Seconds of warm-up per arm: the agents' per-connection code is still getting faster after one. */
const WARM_UP_S = 3

/** Warm-up: JIT compiled, conntrack and listeners exercised, before anything counts. */
export async function warmUp(arm: CaptureArm, client: ArmClient): Promise<void> {
  await client.run<IperfResult>(['iperf', arm.iperf.host, String(arm.iperf.port), '1'], 1)
  await client.run<LoopResult>(['loop', arm.http.host, String(arm.http.port), String(WARM_UP_S)], WARM_UP_S)
}
