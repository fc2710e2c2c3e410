/** Command-line options of `npm run bench` (`node dist/bench/run-bench.js [options]`). */
import { Command, InvalidArgumentError } from 'commander'
import { CAPTURE_ARM_NAMES, type CaptureArmName } from './capture-arms'

export const ARM_NAMES = ['direct', 'haproxy', 'nginx', 'nodemesh'] as const
export type ArmName = (typeof ARM_NAMES)[number]

/**
 * Arms of the tunnel suite: the L4 path between two hosts, nodemesh's tunnel against stunnel;
 * direct, node-relay (one plain node:net hop) and node-h2 (a bare node:http2 CONNECT tunnel)
 * are references that bound the ratios.
 */
export const TUNNEL_ARM_NAMES = ['direct', 'node-relay', 'node-h2', 'stunnel', 'nodemesh'] as const
export type TunnelArmName = (typeof TUNNEL_ARM_NAMES)[number]

export const SUITE_NAMES = ['l7', 'tunnel', 'capture'] as const
export type SuiteName = (typeof SUITE_NAMES)[number]
/** All of them: capture needs root and says so and skips without it, so a plain run still completes. */
const DEFAULT_SUITES: readonly SuiteName[] = SUITE_NAMES

const ALL_ARM_NAMES: readonly string[] = [...new Set<string>([...ARM_NAMES, ...TUNNEL_ARM_NAMES, ...CAPTURE_ARM_NAMES])]

export interface BenchOptions {
  readonly suites: readonly SuiteName[]
  readonly rounds: number
  /** Seconds per wrk run, per iperf3 run and per connection loop. */
  readonly durationS: number
  /** L7 arms to run, in the base round order. */
  readonly arms: readonly ArmName[]
  /** Tunnel arms to run, in the base round order. */
  readonly tunnelArms: readonly TunnelArmName[]
  /** Capture suite arms to run, in the base round order. */
  readonly captureArms: readonly CaptureArmName[]
  /** Connections of the throughput run. */
  readonly connections: number
  /** Port of the nodemesh service (any port >= 1024; it is bound on the service VIP). */
  readonly servicePort: number
  readonly output: string
  readonly tunnelOutput: string
  readonly captureOutput: string
  /** When set, the agents run under `node --cpu-prof` and leave their .cpuprofile here. */
  readonly profileDir?: string
}

export function parseBenchOptions(argv: readonly string[], defaultOutput: string, defaultTunnelOutput: string, defaultCaptureOutput: string): BenchOptions {
  const cmd = new Command('run-bench')
    .description('nodemesh benchmarks in interleaved rounds: L7 against a direct connection, HAProxy and nginx; ' +
      'the tunnel between two hosts against stunnel and a direct connection; capture mode against bind mode (root)')
    .option('--suite <suites>', `comma-separated subset of ${SUITE_NAMES.join(',')} (default ${DEFAULT_SUITES.join(',')})`, parseSuites, [...DEFAULT_SUITES])
    .option('--rounds <n>', 'interleaved rounds', positiveInt, 3)
    .option('--duration <s>', 'seconds per wrk run, iperf3 run and connection loop', positiveInt, 5)
    .option('--connections <n>', 'connections of the L7 throughput run', positiveInt, 32)
    .option('--only <arms>', `comma-separated arms; each suite runs those it has (l7: ${ARM_NAMES.join(',')}; tunnel: ${TUNNEL_ARM_NAMES.join(',')}; capture: ${CAPTURE_ARM_NAMES.join(',')})`, parseArms, [...ALL_ARM_NAMES])
    .option('--service-port <port>', 'nodemesh L7 service port', positiveInt, 18080)
    .option('--output <file>', 'JSON results file of the L7 suite', defaultOutput)
    .option('--tunnel-output <file>', 'JSON results file of the tunnel suite', defaultTunnelOutput)
    .option('--capture-output <file>', 'JSON results file of the capture suite', defaultCaptureOutput)
    .option('--profile-dir <dir>', 'run the agents under node --cpu-prof, profiles written here on exit')
    .allowExcessArguments(false)
  cmd.parse([...argv], { from: 'user' })
  const o = cmd.opts<{ suite: SuiteName[]; rounds: number; duration: number; connections: number; only: string[]; servicePort: number
    output: string; tunnelOutput: string; captureOutput: string; profileDir?: string }>()
  if (o.servicePort < 1024 || o.servicePort > 65535) throw new InvalidArgumentError('--service-port must be 1024..65535')
  return {
    suites: o.suite, rounds: o.rounds, durationS: o.duration, connections: o.connections, servicePort: o.servicePort,
    // Canonical order, so rotation is the same whatever order was typed.
    arms: ARM_NAMES.filter((a) => o.only.includes(a)),
    tunnelArms: TUNNEL_ARM_NAMES.filter((a) => o.only.includes(a)),
    captureArms: CAPTURE_ARM_NAMES.filter((a) => o.only.includes(a)),
    output: o.output, tunnelOutput: o.tunnelOutput, captureOutput: o.captureOutput,
    ...(o.profileDir ? { profileDir: o.profileDir } : {}),
  }
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer')
  return n
}

function listOf(value: string, known: readonly string[], what: string): string[] {
  const wanted = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const w of wanted) {
    if (!known.includes(w)) throw new InvalidArgumentError(`unknown ${what} "${w}" (known: ${known.join(', ')})`)
  }
  return wanted
}

function parseArms(value: string): string[] {
  return listOf(value, ALL_ARM_NAMES, 'arm')
}

function parseSuites(value: string): SuiteName[] {
  const wanted = listOf(value, SUITE_NAMES, 'suite')
  return SUITE_NAMES.filter((s) => wanted.includes(s))
}
