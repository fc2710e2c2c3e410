/** The bench's progress lines, and failures explained by the processes that died. */
import type { Managed } from './processes'

export function log(msg: string): void {
  console.log(`[bench] ${msg}`)
}

/** The error, plus the last output of any of `procs` that died meanwhile. */
export async function explainFailure(err: unknown, procs: readonly Managed[]): Promise<string> {
  let msg = err instanceof Error ? err.message : String(err)
  for (const p of procs) {
    if (!p.exited()) continue
    await p.drained()
    msg += `\n${p.name} (pid ${p.pid}) exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.tail()}`
  }
  return msg
}
