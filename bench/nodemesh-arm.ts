/**
 * The nodemesh arm: a real agent process (`node dist/cli/main.js agent`) on the embedded
 * registry in a temp state dir, every port free and on loopback, logging at warn so the
 * access log (info) costs nothing; a service made and registered with the CLI; traffic to its VIP.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { Arm, Skipped } from './arm'
import { freePort, makeTempDir, run, sleep, startProcess, type Managed } from './processes'

const CLI = path.join(__dirname, '..', 'cli', 'main.js')
const SERVICE = 'bench'

export interface NodemeshSettings {
  readonly backendPort: number
  readonly servicePort: number
  /** When set, the agent runs under `--cpu-prof` and writes its profile here on exit. */
  readonly profileDir?: string
}

export async function startNodemeshArm(s: NodemeshSettings): Promise<Arm | Skipped> {
  if (!fs.existsSync(CLI)) return { name: 'nodemesh', reason: `${CLI} is missing (build first: npm run build)` }
  const stateDir = makeTempDir('nm-bench-agent-')
  const ready = await freePort()
  const args = [
    'agent', '--node', 'bench-node', '--state-dir', stateDir, '--log-level', 'warn',
    '--local-address', '127.0.0.1', '--observe-address', '127.0.0.1',
    '--dns-port', String(await freePort()), '--http-proxy-port', String(await freePort()),
    '--admin-port', String(await freePort()), '--metrics-port', String(await freePort()), '--ready-port', String(ready),
  ]
  const nodeArgs = s.profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(s.profileDir)] : []
  // An empty NODEMESH_REDIS_URL keeps both the agent and the CLI on the embedded registry.
  const env = { ...process.env, NODEMESH_REDIS_URL: '', NODEMESH_STATE_DIR: stateDir, NODEMESH_LOG_LEVEL: 'warn' }
  const agent = startProcess('nodemesh agent', process.execPath, [...nodeArgs, CLI, ...args], env)
  await waitForStatus(agent, `http://127.0.0.1:${ready}/healthz/ready`, 20_000)

  const cli = async (cliArgs: string[]): Promise<string> => {
    const r = await run(process.execPath, [CLI, ...cliArgs], env)
    if (r.code !== 0) throw new Error(`nodemesh ${cliArgs.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
    return r.stdout
  }
  await cli(['service', 'create', SERVICE, '--port', `${s.servicePort}/http`])
  await cli(['register', SERVICE, '--address', '127.0.0.1', '--port', String(s.backendPort)])
  const services = JSON.parse(await cli(['services', '-o', 'json'])) as Array<{ name: string; vip?: string }>
  const vip = services.find((x) => x.name === SERVICE)?.vip
  if (!vip) throw new Error(`service ${SERVICE} has no VIP in \`services -o json\`: ${JSON.stringify(services)}`)
  const url = `http://${vip}:${s.servicePort}/`
  await waitForCurl(agent, url, 20_000)

  const version = (await run(process.execPath, [CLI, '--version'], env)).stdout.trim() || 'dev'
  return {
    name: 'nodemesh', url, proxyPids: () => [agent.pid], procs: [agent],
    describe: `agent ${version} on node ${process.version}, embedded registry, VIP ${vip}:${s.servicePort}`,
  }
}

/** Until the agent's readiness endpoint answers 200 (snapshot loaded, listeners up). */
export async function waitForStatus(proc: Managed, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exited()) { await proc.drained(); throw new Error(`${proc.name} exited:\n${proc.tail()}`) }
    if ((await statusOf(url)) === 200) return
    if (Date.now() > deadline) throw new Error(`${proc.name}: ${url} not 200 after ${timeoutMs} ms:\n${proc.tail()}`)
    await sleep(100)
  }
}

/** Until curl through the VIP gets 200: the listener is bound and the endpoint is in the table. */
async function waitForCurl(proc: Managed, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    if (proc.exited()) { await proc.drained(); throw new Error(`${proc.name} exited:\n${proc.tail()}`) }
    const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', url])
    last = r.stdout.trim() || r.stderr.trim()
    if (last === '200') return
    if (Date.now() > deadline) throw new Error(`curl ${url} did not answer 200 in ${timeoutMs} ms (last: ${last}):\n${proc.tail()}`)
    await sleep(100)
  }
}

function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', () => resolve(0))
    req.setTimeout(2000, () => req.destroy())
  })
}
