/**
 * The L7 suite: nodemesh against a direct connection, HAProxy and nginx, all forwarding to one
 * nginx backend on loopback. Rounds are interleaved (each round runs every arm, the order
 * rotated) so machine noise lands on all arms alike; the figures are medians.
 */
import type { Arm, Skipped } from './arm'
import { startBackend } from './backend'
import type { ArmName, BenchOptions } from './bench-options'
import { measureArm, runWrk, type Sample } from './measure'
import { startNodemeshArm } from './nodemesh-arm'
import { directArm, startHaproxyArm, startNginxArm } from './peers'
import { log } from './bench-log'
import { runInterleavedRounds } from './interleaved-rounds'
import { which } from './processes'
import { formatReport, summarize, writeJson } from './report'

const WARMUP_S = 1

export async function runL7Suite(opts: BenchOptions): Promise<void> {
  if (!which('wrk')) throw new Error('wrk is needed (apt-get install -y wrk)')

  const backend = await startBackend()
  log(`backend: nginx, 1 worker, 127.0.0.1:${backend.port}`)
  const arms: Arm[] = []
  const skipped: Skipped[] = []
  for (const name of opts.arms) {
    const arm = await startArm(name, backend.port, opts)
    if ('reason' in arm) { skipped.push(arm); log(`${name}: skipped, ${arm.reason}`) } else { arms.push(arm); log(`${name}: ${arm.url} (${arm.describe})`) }
  }
  if (arms.length === 0) throw new Error('no arm to measure')

  // Warm-up: connection pools filled, JIT compiled, before anything counts.
  for (const arm of arms) {
    const w = await runWrk(arm.url, opts.connections, WARMUP_S)
    if (w.errors > 0) log(`warning: ${arm.name} had ${w.errors} errors during warm-up`)
  }

  const settings = { connections: opts.connections, durationS: opts.durationS, backendPids: backend.workerPids }
  const samples = await runInterleavedRounds(arms, opts.rounds, (arm, round) => measureArm(arm, round, settings), (s: Sample) =>
    `${Math.round(s.rps)} req/s` +
    (s.cpuUsPerReq === null ? '' : `, ${s.cpuUsPerReq.toFixed(1)} CPU-µs/req (${s.cpuPct!.toFixed(0)}% of a core)`) +
    `, c=1 p50 ${s.p50Us} µs p99 ${s.p99Us} µs${s.errors ? `, ${s.errors} errors` : ''}`)

  const summaries = arms.map((a) => summarize(a, samples.get(a.name)!))
  console.log('\n' + formatReport(summaries, skipped, opts) + '\n')
  writeJson(opts.output, summaries, skipped, opts)
  log(`results written to ${opts.output}`)
}

function startArm(name: ArmName, backendPort: number, opts: BenchOptions): Promise<Arm | Skipped> {
  switch (name) {
    case 'direct': return Promise.resolve(directArm(backendPort))
    case 'haproxy': return startHaproxyArm(backendPort)
    case 'nginx': return startNginxArm(backendPort)
    case 'nodemesh': return startNodemeshArm({ backendPort, servicePort: opts.servicePort, ...(opts.profileDir ? { profileDir: opts.profileDir } : {}) })
  }
}
