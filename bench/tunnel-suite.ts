/**
 * The tunnel suite: the L4 path between two loopback hosts, nodemesh's tunnel (two agents)
 * against stunnel (client and server) and a direct connection, all to the same iperf3 server
 * and HTTP/1.0 backend on the destination host. Rounds are interleaved as in the L7 suite.
 */
import type { BenchOptions, TunnelArmName } from './bench-options'
import { explainFailure, log } from './bench-log'
import { runInterleavedRounds } from './interleaved-rounds'
import { connectionLoop } from './connection-loop'
import { runIperf } from './iperf-client'
import { startH2TunnelArm } from './h2-tunnel-arm'
import { measureTunnelArm, type TunnelSample } from './measure-tunnel'
import { startNodeRelayArm } from './node-relay-arm'
import { startStunnelArm } from './stunnel-arm'
import { DEST_HOST, type TunnelArm, type TunnelSkipped } from './tunnel-arm'
import { startTunnelBackends, type TunnelBackends } from './tunnel-backends'
import { startTunnelMeshArm } from './tunnel-mesh-arm'
import { formatTunnelReport, summarizeTunnel, writeTunnelJson } from './tunnel-report'

const WARMUP_IPERF_S = 1
/**
 * Node's per-connection path (net, http2) takes about 15 s of the loop to reach its steady
 * rate, in the agents and in the bare node-h2 tunnel alike: after 1 s they ran at half of it.
 */
const WARMUP_LOOP_S = 15

export async function runTunnelSuite(opts: BenchOptions): Promise<void> {
  const backends = await startTunnelBackends()
  log(`tunnel backends on ${DEST_HOST}: iperf3 -s port ${backends.iperfPort}, nginx (HTTP/1.0, close) port ${backends.httpPort}`)
  const arms: TunnelArm[] = []
  const skipped: TunnelSkipped[] = []
  for (const name of opts.tunnelArms) {
    const arm = await startArm(name, backends, opts)
    if ('reason' in arm) { skipped.push(arm); log(`${name}: skipped, ${arm.reason}`) } else {
      arms.push(arm)
      log(`${name}: iperf3 -> ${arm.iperf.host}:${arm.iperf.port}, loop -> ${arm.http.host}:${arm.http.port} (${arm.describe})`)
    }
  }
  if (arms.length === 0) throw new Error('no tunnel arm to measure')

  // Warm-up: tunnel session and TLS caches made, JIT compiled, before anything counts.
  for (const arm of arms) {
    await runIperf(arm.iperf, WARMUP_IPERF_S).catch(async (err: unknown) => { throw new Error(`${arm.name}, warm-up: ${await explainFailure(err, arm.procs)}`) })
    const w = await connectionLoop(arm.http, WARMUP_LOOP_S)
    if (w.errors > 0) log(`warning: ${arm.name} had ${w.errors} connection errors during warm-up (first: ${w.firstError})`)
  }

  const settings = { durationS: opts.durationS, backendPids: backends.pids }
  const cpu = (us: number | null, per: string, pct: readonly [number, number] | null): string =>
    us === null ? '' : ` (${us.toFixed(1)} CPU-µs/${per}, ${pct![0].toFixed(0)}+${pct![1].toFixed(0)}% of a core)`
  const samples = await runInterleavedRounds(arms, opts.rounds, (arm, round) => measureTunnelArm(arm, round, settings), (s: TunnelSample) =>
    `${s.gbps.toFixed(2)} Gbit/s${cpu(s.cpuUsPerMB, 'MB', s.cpuPctIperf)}, ` +
    `${Math.round(s.connPerSecond)} conn/s${cpu(s.cpuUsPerConn, 'conn', s.cpuPctLoop)}` +
    (s.sessions === null ? '' : `, ${s.sessions} new tunnel session(s)`) + (s.errors ? `, ${s.errors} errors (${s.firstError})` : ''),
  backends.procs)

  const summaries = arms.map((a) => summarizeTunnel(a, samples.get(a.name)!))
  console.log('\n' + formatTunnelReport(summaries, skipped, opts) + '\n')
  writeTunnelJson(opts.tunnelOutput, summaries, skipped, opts)
  log(`results written to ${opts.tunnelOutput}`)
}

function startArm(name: TunnelArmName, b: TunnelBackends, opts: BenchOptions): Promise<TunnelArm | TunnelSkipped> {
  switch (name) {
    case 'direct': return Promise.resolve(directTunnelArm(b))
    case 'node-relay': return startNodeRelayArm(b)
    case 'node-h2': return startH2TunnelArm(b)
    case 'stunnel': return startStunnelArm(b)
    case 'nodemesh': return startTunnelMeshArm({ iperfPort: b.iperfPort, httpPort: b.httpPort, ...(opts.profileDir ? { profileDir: opts.profileDir } : {}) })
  }
}

function directTunnelArm(b: TunnelBackends): TunnelArm {
  return {
    name: 'direct', iperf: { host: DEST_HOST, port: b.iperfPort }, http: { host: DEST_HOST, port: b.httpPort },
    proxyPids: () => [], procs: [], describe: 'straight from the source host to the backends, no TLS',
  }
}
