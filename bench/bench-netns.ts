/**
 * Network namespaces of the capture suite (root only): `nmbench-ROLE-PID`, each with only `lo`
 * up. Every namespace made here is deleted by removeBenchNamespaces(), which run-bench calls
 * after the suite, on error, on Ctrl-C and (synchronously) on exit, so none outlives the run.
 */
import { spawnSync } from 'node:child_process'
import { run, startProcess, type CommandResult, type Managed } from './processes'

const made = new Set<string>()

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables)'
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'needs `ip netns` (iproute2)'
  return undefined
}

export function benchNamespaceName(role: string): string {
  return `nmbench-${role}-${process.pid}`
}

export function createNamespace(role: string): string {
  const ns = benchNamespaceName(role)
  ip('netns', 'add', ns)
  made.add(ns)
  ip('-n', ns, 'link', 'set', 'lo', 'up')
  return ns
}

export function ipIn(ns: string, ...args: string[]): void {
  ip('-n', ns, ...args)
}

/** `ip netns exec` execs in place, so the Managed pid is the program's own (its CPU is what /proc shows). */
export function startIn(ns: string, name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, stdin: 'ignore' | 'pipe' = 'ignore'): Managed {
  return startProcess(name, 'ip', ['netns', 'exec', ns, command, ...args], env, stdin)
}

export function runIn(ns: string, command: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
  return run('ip', ['netns', 'exec', ns, command, ...args], process.env, timeoutMs)
}

/**
 * Synchronous, so the exit handler can use it too. A namespace outlives `ip netns del` while a
 * process runs in it; whatever is left inside was started by this run, so it is killed first.
 */
export function removeBenchNamespaces(): void {
  for (const ns of made) {
    const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split('\n').map(Number).filter((p) => p > 0)
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
    spawnSync('ip', ['netns', 'del', ns])
    made.delete(ns)
  }
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(r.stderr ?? '').trim()}`)
}

/** Until something accepts TCP connections on host:port, seen from inside `ns`. */
export async function waitForPortIn(ns: string, proc: Managed, host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const probe = `const s=require('net').connect(+process.argv[2],process.argv[1]);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),2000)`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exited()) { await proc.drained(); throw new Error(`${proc.name} exited before listening on ${host}:${port} in ${ns}:\n${proc.tail()}`) }
    if ((await runIn(ns, process.execPath, ['-e', probe, host, String(port)])).code === 0) return
    if (Date.now() > deadline) throw new Error(`${proc.name} not listening on ${host}:${port} in ${ns} after ${timeoutMs} ms:\n${proc.tail()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
