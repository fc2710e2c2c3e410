/**
 * The capture suite: a captured tcp connection (agent --capture, iptables REDIRECT in the
 * OUTPUT chain) against the same connection to a VIP the agent binds, a direct connection and
 * stunnel, in rounds whose arms take turns second by second. Root only: it needs network
 * namespaces and iptables.
 */
import { agentMetric, MAJOR_GCS } from './agent-metrics'
import type { BenchOptions } from './bench-options'
import { explainFailure, log } from './bench-log'
import { netnsUnavailable } from './bench-netns'
import { directArm, startHostStunnelArm, startMeshArm, type CaptureArm, type CaptureArmName, type CaptureSkipped } from './capture-arms'
import { ArmClient, measureCaptureRound, warmUp, type CaptureSample } from './capture-measure'
import { formatCaptureReport, summarizeCapture, writeCaptureJson } from './capture-report'
import { which } from './processes'

const difference = (before: number | null | undefined, after: number | null | undefined): number | null => (before != null && after != null ? after - before : null)

export async function runCaptureSuite(opts: BenchOptions): Promise<void> {
  const why = netnsUnavailable() ?? (which('iperf3') ? undefined : 'needs iperf3')
  if (why) { log(`capture: skipped, ${why}`); return }
  const wanted = new Set<CaptureArmName>(opts.captureArms)
  const arms: CaptureArm[] = []
  const skipped: CaptureSkipped[] = []
  // The bind namespace also hosts the direct arm, so it is made whenever either is wanted.
  const bind = wanted.has('bind') || wanted.has('direct') ? await startMeshArm('bind') : undefined
  if (bind && wanted.has('direct')) arms.push(directArm(bind))
  if (bind && wanted.has('bind')) arms.push(bind)
  if (wanted.has('bind-ct')) arms.push(await startMeshArm('bind-ct'))
  if (wanted.has('capture')) arms.push(await startMeshArm('capture'))
  if (wanted.has('stunnel')) {
    const st = await startHostStunnelArm()
    if ('reason' in st) { skipped.push(st); log(`stunnel: skipped, ${st.reason}`) } else arms.push(st)
  }
  if (arms.length === 0) throw new Error('no capture arm to measure')
  for (const a of arms) log(`${a.name}: iperf3 -> ${a.iperf.host}:${a.iperf.port}, loop -> ${a.http.host}:${a.http.port} (${a.describe})`)

  const clients = new Map(arms.map((a) => [a.name, new ArmClient(a)]))
  for (const arm of arms) await warmUp(arm, clients.get(arm.name)!).catch(async (err: unknown) => { throw new Error(`${arm.name}, warm-up: ${await explainFailure(err, arm.procs)}`) })
  const cpu = (us: number | null, per: string): string => (us === null ? '' : ` (${us.toFixed(1)} CPU-µs/${per})`)
  const samples = new Map<CaptureArmName, CaptureSample[]>(arms.map((a) => [a.name, []]))
  const majorGcs = (): Promise<Array<number | null>> => Promise.all(arms.map((a) => (a.ns && a.agentMetricsPort ? agentMetric(a.agentMetricsPort, MAJOR_GCS, a.ns) : null)))
  const gcBefore = await majorGcs()
  for (let round = 1; round <= opts.rounds; round++) {
    const measured = await measureCaptureRound(arms, clients, round, opts.durationS).catch(async (err: unknown) => {
      throw new Error(`round ${round}: ${await explainFailure(err, arms.flatMap((a) => a.procs))}`)
    })
    for (const arm of arms) {
      const s = measured.get(arm.name)!
      samples.get(arm.name)!.push(s)
      log(`round ${round}/${opts.rounds} ${arm.name.padEnd(8)} ${s.gbps.toFixed(2)} Gbit/s${cpu(s.cpuUsPerMB, 'MB')}, ${s.machineUsPerMB.toFixed(0)} machine-µs/MB, ` +
        `${Math.round(s.connPerSecond)} conn/s${cpu(s.cpuUsPerConn, 'conn')}, ${s.machineUsPerConn.toFixed(0)} machine-µs/conn` + (s.errors ? `, ${s.errors} errors (${s.firstError})` : ''))
    }
  }
  const gcAfter = await majorGcs()
  await Promise.all([...clients.values()].map((c) => c.stop()))
  const summaries = arms.map((a, i) => summarizeCapture(a, samples.get(a.name)!, difference(gcBefore[i], gcAfter[i])))
  console.log('\n' + formatCaptureReport(summaries, skipped, opts) + '\n')
  writeCaptureJson(opts.captureOutput, summaries, skipped, opts)
  log(`results written to ${opts.captureOutput}`)
}
