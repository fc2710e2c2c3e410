/**
 * Major GCs of an agent, from its own /metrics (prom-client's nodejs_gc_duration_seconds):
 * an agent whose V8 heap runs a mark-compact every few hundred milliseconds under load pays
 * for it in every figure, so the capture suite reports the count per arm beside them.
 */
import { runIn } from './bench-netns'

const MAJOR = /^nodemesh_process_nodejs_gc_duration_seconds_count\{kind="major"\}\s+(\d+)/m

/** Reads the counter in the agent's namespace; null when the endpoint does not answer. */
export async function majorGcCount(ns: string, metricsPort: number): Promise<number | null> {
  const script = `fetch('http://127.0.0.1:${metricsPort}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`
  const r = await runIn(ns, process.execPath, ['-e', script], 10_000)
  const m = r.code === 0 ? MAJOR.exec(r.stdout) : null
  return m ? Number(m[1]) : null
}
