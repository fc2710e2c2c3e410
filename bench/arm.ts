/** What the measurement needs from an arm: where to send traffic and whose CPU to count. */
import type { ArmName } from './bench-options'
import type { Managed } from './processes'

export interface Arm {
  readonly name: ArmName
  /** URL wrk targets (always loopback). */
  readonly url: string
  /** Pids whose CPU is the proxy's cost, looked up at sample time; empty for the direct arm. */
  proxyPids(): number[]
  /** Short description for the report (version, threads). */
  readonly describe: string
  /** Processes the arm runs, to explain a failed measurement by one that died. */
  readonly procs: readonly Managed[]
}

export interface Skipped {
  readonly name: ArmName
  readonly reason: string
}
