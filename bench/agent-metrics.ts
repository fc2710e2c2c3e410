/**
 * Figures the benchmarks read from an agent's own /metrics: its major GCs (prom-client's
 * nodejs_gc_duration_seconds; an agent whose V8 heap runs a mark-compact every few hundred
 * milliseconds under load pays for it in every figure) and the tunnel sessions it accepted.
 */
import { runIn } from './bench-netns'

export const MAJOR_GCS = 'nodemesh_process_nodejs_gc_duration_seconds_count{kind="major"}'
export const TUNNEL_SESSIONS_ACCEPTED = 'nodemesh_tunnel_inbound_sessions_accepted_total'

/**
 * One series' value from the agent on 127.0.0.1:`port`, in namespace `ns` when given (the bench
 * process cannot enter one, so a node process there fetches); null when it does not answer or
 * has no such series.
 */
export async function agentMetric(port: number, series: string, ns?: string): Promise<number | null> {
  const url = `http://127.0.0.1:${port}/metrics`
  let text: string
  if (ns === undefined) {
    text = await fetch(url).then((r) => r.text(), () => '')
  } else {
    const r = await runIn(ns, process.execPath, ['-e', `fetch('${url}').then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`], 10_000)
    text = r.code === 0 ? r.stdout : ''
  }
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? null : Number(line.slice(series.length + 1))
}
