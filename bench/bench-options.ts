/** Command-line options of `npm run bench` (`node dist/bench/run-bench.js [options]`). */
import { Command, InvalidArgumentError } from 'commander'

export const ARM_NAMES = ['direct', 'haproxy', 'nginx', 'nodemesh'] as const
export type ArmName = (typeof ARM_NAMES)[number]

export interface BenchOptions {
  readonly rounds: number
  /** Seconds per wrk run. */
  readonly durationS: number
  /** Arms to run, in the base round order. */
  readonly arms: readonly ArmName[]
  /** Connections of the throughput run. */
  readonly connections: number
  /** Port of the nodemesh service (any port >= 1024; it is bound on the service VIP). */
  readonly servicePort: number
  readonly output: string
  /** When set, the agent runs under `node --cpu-prof` and leaves its .cpuprofile here. */
  readonly profileDir?: string
}

export function parseBenchOptions(argv: readonly string[], defaultOutput: string): BenchOptions {
  const cmd = new Command('run-bench')
    .description('L7 benchmark: nodemesh against a direct connection, HAProxy and nginx, in interleaved rounds')
    .option('--rounds <n>', 'interleaved rounds', positiveInt, 3)
    .option('--duration <s>', 'seconds per wrk run', positiveInt, 5)
    .option('--connections <n>', 'connections of the throughput run', positiveInt, 32)
    .option('--only <arms>', `comma-separated subset of ${ARM_NAMES.join(',')}`, parseArms, [...ARM_NAMES])
    .option('--service-port <port>', 'nodemesh service port', positiveInt, 18080)
    .option('--output <file>', 'JSON results file', defaultOutput)
    .option('--profile-dir <dir>', 'run the agent under node --cpu-prof, profile written here on exit')
    .allowExcessArguments(false)
  cmd.parse([...argv], { from: 'user' })
  const o = cmd.opts<{ rounds: number; duration: number; connections: number; only: ArmName[]; servicePort: number; output: string; profileDir?: string }>()
  if (o.servicePort < 1024 || o.servicePort > 65535) throw new InvalidArgumentError('--service-port must be 1024..65535')
  return { rounds: o.rounds, durationS: o.duration, arms: o.only, connections: o.connections, servicePort: o.servicePort, output: o.output,
    ...(o.profileDir ? { profileDir: o.profileDir } : {}) }
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer')
  return n
}

function parseArms(value: string): ArmName[] {
  const wanted = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const w of wanted) {
    if (!(ARM_NAMES as readonly string[]).includes(w)) throw new InvalidArgumentError(`unknown arm "${w}" (known: ${ARM_NAMES.join(', ')})`)
  }
  // Keep the canonical order so rotation is the same whatever order was typed.
  return ARM_NAMES.filter((a) => wanted.includes(a))
}
