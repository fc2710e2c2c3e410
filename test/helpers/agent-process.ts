/**
 * Runs the real agent as a child process (`node dist/cli/main.js agent ...`, so `npm test`
 * builds first) on free ports, and the real CLI against it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './free-port'
import { httpGetIn, spawnIn } from './netns'

export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')

export interface AgentPorts {
  dns: number
  httpProxy: number
  admin: number
  metrics: number
  ready: number
}

export interface AgentProcess {
  readonly node: string
  readonly stateDir: string
  readonly ports: AgentPorts
  /** The network namespace the agent runs in, when started with one. */
  readonly netns?: string
  /** The agent's process id while it runs (with `netns` too: `ip netns exec` execs in place). */
  readonly pid: number | undefined
  /** JSON log records the agent printed so far. */
  readonly logs: Array<Record<string, unknown>>
  /** Extra args given at start, reused by restart(). */
  readonly args: readonly string[]
  start(): Promise<void>
  /** SIGKILL, as a crash. */
  kill(): Promise<void>
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>
  waitReady(timeoutMs?: number): Promise<void>
  waitForLog(pred: (rec: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  cli(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult>
  /** GET a URL from where the agent runs (its network namespace, if any): admin, metrics, readiness. */
  get(url: string): Promise<{ status: number; body: string }>
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** In a namespace of its own the agent has every port to itself: the defaults. */
const NETNS_PORTS: AgentPorts = { dns: 15053, httpProxy: 15080, admin: 15000, metrics: 15020, ready: 15021 }

/**
 * With `netns`, the agent runs inside that network namespace (`ip netns exec`, root only), and
 * its readiness and admin checks run there too. Its API socket is a file in the state
 * directory, so `cli()` from here still reaches it.
 */
export async function startAgent(opts: { node?: string; registry?: string; redisUrl?: string; extraArgs?: string[]; stateDir?: string; netns?: string } = {}): Promise<AgentProcess> {
  const node = opts.node ?? 'node-a'
  const netns = opts.netns
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nm-agent-'))
  const ports: AgentPorts = netns !== undefined ? { ...NETNS_PORTS }
    : { dns: await freePort(), httpProxy: await freePort(), admin: await freePort(), metrics: await freePort(), ready: await freePort() }
  const args = [
    'agent', '--node', node, '--state-dir', stateDir,
    '--dns-port', String(ports.dns), '--http-proxy-port', String(ports.httpProxy), '--admin-port', String(ports.admin),
    '--metrics-port', String(ports.metrics), '--ready-port', String(ports.ready), '--observe-address', '127.0.0.1',
    ...(opts.redisUrl ? ['--redis', opts.redisUrl] : []), ...(opts.registry ? ['--registry', opts.registry] : []),
    ...(opts.extraArgs ?? []),
  ]
  const logs: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  let child: ChildProcess | undefined

  const agent: AgentProcess = {
    node, stateDir, ports, logs, args,
    ...(netns !== undefined ? { netns } : {}),
    get pid() { return child?.pid },
    async start() {
      const env = { ...process.env, NODEMESH_REDIS_URL: '' }
      child = netns !== undefined
        ? spawnIn(netns, process.execPath, [CLI, ...args], env)
        : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
      let buf = ''
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        buf += d
        let nl
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          try { logs.push(JSON.parse(line) as Record<string, unknown>) } catch { logs.push({ raw: line }) }
          for (const w of waiters) w()
        }
      })
      child.stderr?.setEncoding('utf8').on('data', (d: string) => { logs.push({ stderr: d }); for (const w of waiters) w() })
      await agent.waitReady()
    },
    async kill() {
      const c = child
      if (!c || c.exitCode !== null || c.signalCode !== null) return
      await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL') })
    },
    async stop() {
      const c = child
      if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null
      return new Promise((resolve) => { c.once('exit', (code) => resolve(code)); c.kill('SIGTERM') })
    },
    async waitReady(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (child && (child.exitCode !== null || child.signalCode !== null)) {
          throw new Error(`agent exited (${child.exitCode ?? child.signalCode}): ${JSON.stringify(logs.slice(-5))}`)
        }
        const status = await agent.get(`http://127.0.0.1:${ports.ready}/healthz/ready`).then((r) => r.status, () => 0)
        if (status === 200) return
        if (Date.now() > deadline) throw new Error(`agent not ready after ${timeoutMs} ms: ${JSON.stringify(logs.slice(-5))}`)
        await sleep(50)
      }
    },
    waitForLog(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        let seen = 0
        const check = (): void => {
          for (; seen < logs.length; seen++) {
            const rec = logs[seen] as Record<string, unknown>
            if (pred(rec)) { cleanup(); resolve(rec); return }
          }
        }
        const timer = setTimeout(() => { cleanup(); reject(new Error(`log record not seen in ${timeoutMs} ms`)) }, timeoutMs)
        const cleanup = (): void => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      })
    },
    cli(cliArgs, env = {}) {
      return runCli(cliArgs, { NODEMESH_STATE_DIR: stateDir, NODEMESH_REDIS_URL: '', ...env })
    },
    get(url) {
      return netns !== undefined ? httpGetIn(netns, url) : httpGet(url)
    },
  }
  await agent.start()
  return agent
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: ${url}`)))
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export async function routesOf(agent: AgentProcess): Promise<{ services: Array<{ service: string; ports: Array<{ endpoints: unknown[] }> }> }> {
  return JSON.parse((await agent.get(`http://127.0.0.1:${agent.ports.admin}/debug/routes`)).body)
}

/** The identities the agent holds certificates for, from its admin /debug/certs. */
export async function certsOf(agent: AgentProcess): Promise<string[]> {
  const view = JSON.parse((await agent.get(`http://127.0.0.1:${agent.ports.admin}/debug/certs`)).body) as { certs?: Array<{ identity: string }> }
  return (view.certs ?? []).map((c) => c.identity)
}

/** The names of the policies in the agent's snapshot, from its admin /debug/snapshot. */
export async function policiesIn(agent: AgentProcess): Promise<string[]> {
  return Object.keys((JSON.parse((await agent.get(`http://127.0.0.1:${agent.ports.admin}/debug/snapshot`)).body) as { policies: object }).policies)
}

export async function listenerKeys(agent: AgentProcess): Promise<string[]> {
  return (JSON.parse((await agent.get(`http://127.0.0.1:${agent.ports.admin}/debug/listeners`)).body) as { open: string[] }).open
}

export async function waitForListener(agent: AgentProcess, key: string): Promise<void> {
  await waitFor(async () => (await listenerKeys(agent)).includes(key), `listener ${key}`)
}

export async function waitForEndpoints(agent: AgentProcess, service: string, n: number): Promise<void> {
  await waitFor(async () => {
    const svc = (await routesOf(agent)).services.find((s) => s.service === service)
    return svc !== undefined && svc.ports.every((p) => p.endpoints.length === n)
  }, `${n} endpoints of ${service}`)
}

export async function waitFor(pred: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}
