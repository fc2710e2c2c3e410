/**
 * Several hosts on one machine as Linux network namespaces (root only): two host namespaces
 * joined by a veth pair, each with a workload namespace behind it, and ways to run programs,
 * probes and small workloads inside them. Names carry the test process id so parallel runs
 * never collide and a crashed run's leftovers can be recognized and removed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { CURL_ARGS, parseCurlOutput, run, type CurlResult, type Run } from './commands'

/** Every namespace this file creates is `nme2e-ROLE-PID`. */
const NS_PATTERN = /^nme2e-(hA|hB|wA|wB)-(\d+)$/

export interface Topology {
  /** Host namespaces, joined by 10.77.0.1 (hA) and 10.77.0.2 (hB). */
  readonly hA: string
  readonly hB: string
  /** Workload namespaces: wA 10.77.1.2 behind hA 10.77.1.1, wB 10.77.2.2 behind hB 10.77.2.1. */
  readonly wA: string
  readonly wB: string
  /** Kills what still runs inside and deletes the namespaces (and with them every veth). */
  destroy(): Promise<void>
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces'
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'needs `ip netns` (iproute2) for network namespaces'
  return undefined
}

/** Runs `cmd` inside namespace `ns` and collects its output. */
export function runIn(ns: string, cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<Run> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs)
}

/**
 * Spawns `cmd` inside `ns`. `ip netns exec` execs the command in place of itself (no fork),
 * so the child's pid and signals are the program's own.
 */
export function spawnIn(ns: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
}

/** Whether something accepts TCP connections on host:port, seen from inside `ns`. */
export async function canConnectIn(ns: string, host: string, port: number): Promise<boolean> {
  const probe = `const s=require('net').connect(+process.argv[2],process.argv[1]);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),2000)`
  return (await runIn(ns, process.execPath, ['-e', probe, host, String(port)])).code === 0
}

/** GET `url` from inside `ns` (with curl); rejects when nothing answers. */
export async function httpGetIn(ns: string, url: string): Promise<{ status: number; body: string }> {
  const r = await runIn(ns, 'curl', ['-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', url])
  if (r.code !== 0) throw new Error(`GET ${url} in ${ns} failed (${r.code}): ${r.stderr.trim()}`)
  const nl = r.stdout.lastIndexOf('\n')
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) }
}

/** curl from inside `ns`, parsed as commands.ts `curl` does: status, response head, body. */
export async function curlIn(ns: string, args: readonly string[]): Promise<CurlResult> {
  const r = await runIn(ns, 'curl', [...CURL_ARGS, ...args])
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')} in ${ns} failed (${r.code}): ${r.stderr}`)
  return parseCurlOutput(r.stdout)
}

/** Deletes namespaces left by earlier runs of these tests whose process is gone. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const removed: string[] = []
  for (const ns of listNamespaces()) {
    const m = NS_PATTERN.exec(ns)
    if (!m || isAlive(Number(m[2]))) continue
    await deleteNamespace(ns)
    removed.push(ns)
  }
  return removed
}

/** Builds the two-host topology for this process; on any failure removes what it made. */
export async function createTopology(): Promise<Topology> {
  const id = process.pid
  const ns = { hA: `nme2e-hA-${id}`, hB: `nme2e-hB-${id}`, wA: `nme2e-wA-${id}`, wB: `nme2e-wB-${id}` }
  // Interface names are limited to 15 characters: 5 + a pid of at most 7 digits.
  const dev = { ab: `nmeab${id}`, ba: `nmeba${id}`, aw: `nmeaw${id}`, wa: `nmewa${id}`, bw: `nmebw${id}`, wb: `nmewb${id}` }
  const destroy = async (): Promise<void> => {
    for (const name of Object.values(ns)) if (listNamespaces().includes(name)) await deleteNamespace(name)
  }
  try {
    for (const name of Object.values(ns)) {
      ip('netns', 'add', name)
      ip('-n', name, 'link', 'set', 'lo', 'up')
    }
    // Each veth end is created straight inside its namespace: nothing is ever left in the root one.
    ip('link', 'add', dev.ab, 'netns', ns.hA, 'type', 'veth', 'peer', 'name', dev.ba, 'netns', ns.hB)
    ip('link', 'add', dev.aw, 'netns', ns.hA, 'type', 'veth', 'peer', 'name', dev.wa, 'netns', ns.wA)
    ip('link', 'add', dev.bw, 'netns', ns.hB, 'type', 'veth', 'peer', 'name', dev.wb, 'netns', ns.wB)
    const addrs: Array<[string, string, string]> = [
      [ns.hA, dev.ab, '10.77.0.1/24'], [ns.hB, dev.ba, '10.77.0.2/24'],
      [ns.hA, dev.aw, '10.77.1.1/24'], [ns.wA, dev.wa, '10.77.1.2/24'],
      [ns.hB, dev.bw, '10.77.2.1/24'], [ns.wB, dev.wb, '10.77.2.2/24'],
    ]
    for (const [n, d, a] of addrs) {
      ip('-n', n, 'addr', 'add', a, 'dev', d)
      ip('-n', n, 'link', 'set', d, 'up')
    }
    ip('-n', ns.wA, 'route', 'add', 'default', 'via', '10.77.1.1')
    ip('-n', ns.wB, 'route', 'add', 'default', 'via', '10.77.2.1')
    for (const host of [ns.hA, ns.hB]) {
      const sysctl = spawnSync('ip', ['netns', 'exec', host, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { encoding: 'utf8' })
      if (sysctl.status !== 0) throw new Error(`sysctl ip_forward in ${host}: ${sysctl.stderr}`)
      // The whole VIP CIDR is local on a host, so the agent in bind mode can listen on any VIP.
      ip('-n', host, 'route', 'add', 'local', '240.240.0.0/16', 'dev', 'lo')
    }
  } catch (err) {
    await destroy()
    throw err
  }
  return { ...ns, destroy }
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`)
}

function listNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '')
}

/**
 * A namespace outlives `ip netns del` while a process still runs in it, so whatever is left
 * inside (only ever started by these tests) is killed first.
 */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split('\n').map(Number).filter((p) => p > 0)
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
  const deadline = Date.now() + 5000
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  spawnSync('ip', ['netns', 'del', ns])
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

export interface NsBackend {
  readonly port: number
  close(): Promise<void>
}

/**
 * Workload programs run with `node -e` in their namespace: the same behaviour as
 * startHttpBackend and startEchoBackend in backends.ts, printing the chosen port when ready.
 */
const BACKEND_SCRIPT = `
const [kind, host, name] = process.argv.slice(1)
const ready = (srv) => srv.listen(0, host, () => console.log(JSON.stringify({ port: srv.address().port })))
if (kind === 'http') {
  ready(require('http').createServer((req, res) => {
    let size = 0
    req.on('data', (d) => { size += d.length })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, host: req.headers.host, xff: req.headers['x-forwarded-for'], bodyBytes: size }))
    })
  }))
} else {
  ready(require('net').createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.pipe(s) }))
}
process.on('SIGTERM', () => process.exit(0))
`

export async function startBackendIn(ns: string, kind: 'http' | 'echo', host: string, name: string = kind): Promise<NsBackend> {
  return startScriptIn(ns, BACKEND_SCRIPT, [kind, host, name], `${kind} backend`)
}

/**
 * Runs a workload `script` with `node -e` inside `ns`; the script prints `{"port":N}` once it
 * listens. SIGTERM stops it.
 */
export async function startScriptIn(ns: string, script: string, args: readonly string[], what = 'workload'): Promise<NsBackend> {
  const child = spawnIn(ns, process.execPath, ['-e', script, ...args])
  let out = ''
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} in ${ns} did not start: ${err}`)), 10_000)
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /"port":(\d+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} in ${ns} exited (${code}): ${err}`)) })
  })
  return {
    port,
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    }),
  }
}

/** What a TCP client saw: how many bytes came back, whether they equal what it sent, and any error. */
export interface TcpExchange {
  readonly received: number
  readonly equal: boolean
  readonly error?: string
}

const EXCHANGE_SCRIPT = `
const [host, port, size] = process.argv.slice(1)
const payload = Buffer.alloc(Number(size), 'half-close ')
const s = require('net').connect({ host, port: Number(port), allowHalfOpen: true })
const chunks = []
let error
s.on('data', (d) => chunks.push(d))
s.on('end', () => s.end())
s.on('error', (e) => { error = e.code || e.message })
s.on('close', () => {
  const got = Buffer.concat(chunks)
  console.log(JSON.stringify({ received: got.length, equal: got.equals(payload), error }))
})
s.setTimeout(10000, () => s.destroy(new Error('ETIMEDOUT')))
s.end(payload)
`

/**
 * From inside `ns`: sends `size` bytes to host:port, half-closes, and reads until the peer
 * closes. An echo that honours half-close returns everything after our write side is shut.
 */
export async function tcpExchangeIn(ns: string, host: string, port: number, size: number): Promise<TcpExchange> {
  const r = await runIn(ns, process.execPath, ['-e', EXCHANGE_SCRIPT, host, String(port), String(size)])
  const line = r.stdout.trim().split('\n').pop() ?? ''
  try { return JSON.parse(line) as TcpExchange } catch { throw new Error(`tcp exchange in ${ns} printed no result (${r.code}): ${r.stdout}${r.stderr}`) }
}
