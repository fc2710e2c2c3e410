/** What the tunnel measurement needs from an arm: where to connect and whose CPU to count. */
import type { TunnelArmName } from './bench-options'
import type { Managed } from './processes'

/** Two hosts on one machine: clients connect from the source, backends listen on the destination. */
export const SOURCE_HOST = '127.0.20.1'
export const DEST_HOST = '127.0.20.2'

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** The destination host's backends every arm forwards to: iperf3 -s and the HTTP/1.0 server. */
export interface BackendPorts {
  readonly iperfPort: number
  readonly httpPort: number
}

export interface TunnelArm {
  readonly name: TunnelArmName
  /** Where `iperf3 -c` connects (from SOURCE_HOST). */
  readonly iperf: HostPort
  /** Where the connection loop connects (from SOURCE_HOST). */
  readonly http: HostPort
  /** Pids whose CPU is the arm's cost, source side first; empty for the direct arm. */
  proxyPids(): number[]
  /** Short description for the report (version, settings). */
  readonly describe: string
  /** Processes the arm runs, to explain a failed measurement by one that died. */
  readonly procs: readonly Managed[]
  /** nodemesh: tunnel sessions the destination agent has accepted so far (its /metrics). */
  readonly tunnelSessionsAccepted?: () => Promise<number>
}

export interface TunnelSkipped {
  readonly name: TunnelArmName
  readonly reason: string
}
