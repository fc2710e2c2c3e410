/**
 * Child processes and temp dirs of one bench run, all stopped and removed at the end, also on
 * Ctrl-C or an error. Children get their own process group so a terminal Ctrl-C reaches only
 * the bench, which then stops them in order instead of racing them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export interface Managed {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Last lines the process printed, for error messages. */
  tail(): string
  exited(): boolean
  /** Resolves once the process exited and its output was read to the end (at most 1 s). */
  drained(): Promise<void>
  stop(): Promise<void>
}

const children = new Set<Managed>()
const tempDirs = new Set<string>()

export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export function startProcess(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, stdin: 'ignore' | 'pipe' = 'ignore'): Managed {
  const child = spawn(command, [...args], { stdio: [stdin, 'pipe', 'pipe'], env, detached: true })
  let out = ''
  // Always drain the pipes: a full pipe would stall the process being measured.
  const keep = (d: string): void => { out = (out + d).slice(-4000) }
  child.stdout?.setEncoding('utf8').on('data', keep)
  child.stderr?.setEncoding('utf8').on('data', keep)
  child.on('error', (err) => keep(`\n${err.message}`))
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`)
  const pid = child.pid
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const managed: Managed = {
    name, pid, child,
    tail: () => out.trim().split('\n').slice(-8).join('\n'),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    drained: () => Promise.race([closed, sleep(1000)]),
    stop: async () => {
      children.delete(managed)
      if (managed.exited()) return
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      signalGroup(pid, 'SIGTERM')
      // Generous: an agent under --cpu-prof writes its profile on the way out.
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 10_000)
      await gone
      clearTimeout(timer)
      // Workers that outlived their master (nginx) share its group.
      signalGroup(pid, 'SIGKILL')
    },
  }
  children.add(managed)
  return managed
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pid, sig) } catch { /* already gone */ }
}

/** Stops every child (newest first) and removes every temp dir. Safe to call twice. */
export async function cleanupAll(): Promise<void> {
  for (const c of [...children].reverse()) await c.stop().catch(() => {})
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

/** Last resort on a synchronous exit path: no awaiting possible. */
export function killAllNow(): void {
  for (const c of children) signalGroup(c.pid, 'SIGKILL')
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true })
}

/** A TCP port that was free a moment ago on loopback (the kernel's pick). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export async function waitForPort(proc: Managed, host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exited()) {
      await proc.drained()
      throw new Error(`${proc.name} exited before listening on ${host}:${port}:\n${proc.tail()}`)
    }
    if (await canConnect(host, port)) return
    if (Date.now() > deadline) throw new Error(`${proc.name} not listening on ${host}:${port} after ${timeoutMs} ms:\n${proc.tail()}`)
    await sleep(50)
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

export interface CommandResult { code: number; stdout: string; stderr: string }

export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, [...args], { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code !== 0 ? err.message : '') })
    })
  })
}

/** Absolute path of an executable on PATH (also the sbin dirs, where haproxy and nginx live). */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir) continue
    const p = path.join(dir, name)
    try { fs.accessSync(p, fs.constants.X_OK); return p } catch { /* next */ }
  }
  return undefined
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
