/**
 * The nodemesh tunnel arm: two agents on distinct loopback hosts (A on SOURCE_HOST, B on
 * DEST_HOST), sharing a redis registry and signing their certificates with one CA
 * (`nodemesh ca init`, `--ca-dir`). One tcp service with two ports, its endpoint on node-b:
 * one service means one destination identity, so iperf3 and the connection loop share the
 * pooled HTTP/2 session A opens to B. Clients hit A's VIP listeners; A tunnels to B; B
 * delivers to the backends. Agents log at warn, so the access log (info) costs nothing.
 */
import fs from 'node:fs'
import path from 'node:path'
import { TUNNEL_HTTP2_SETTINGS, TUNNEL_SESSION_WINDOW } from '../agent/tunnel/tunnel-settings'
import { agentMetric, TUNNEL_SESSIONS_ACCEPTED } from './agent-metrics'
import { oneExchange } from './connection-loop'
import { waitForStatus } from './nodemesh-arm'
import { freePort, makeTempDir, run, sleep, startProcess, type Managed } from './processes'
import { startRedis } from './redis-process'
import { DEST_HOST, SOURCE_HOST, type BackendPorts, type TunnelArm, type TunnelSkipped } from './tunnel-arm'

const CLI = path.join(__dirname, '..', 'cli', 'main.js')
const SERVICE = 'tunnel-bench'
const IPERF_SERVICE_PORT = 15201
const HTTP_SERVICE_PORT = 15202

export interface TunnelMeshSettings extends BackendPorts {
  /** When set, both agents run under `--cpu-prof` and write their profiles here on exit. */
  readonly profileDir?: string
}

export async function startTunnelMeshArm(s: TunnelMeshSettings): Promise<TunnelArm | TunnelSkipped> {
  if (!fs.existsSync(CLI)) return { name: 'nodemesh', reason: `${CLI} is missing (build first: npm run build)` }
  const redis = await startRedis()
  const dir = makeTempDir('nm-bench-tunnel-')
  const env = { ...process.env, NODEMESH_REDIS_URL: '', NODEMESH_LOG_LEVEL: 'warn' }
  const cli = async (args: string[]): Promise<string> => {
    const r = await run(process.execPath, [CLI, ...args], env)
    if (r.code !== 0) throw new Error(`nodemesh ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
    return r.stdout
  }
  const caDir = path.join(dir, 'ca')
  await cli(['ca', 'init', '--dir', caDir])
  // Before the agents start, so that A (started first) holds the VIP listeners; B's attempt
  // fails with EADDRINUSE, which it logs and carries on.
  await cli(['--redis', redis.url, 'service', 'create', SERVICE, '--port', `${IPERF_SERVICE_PORT}/tcp`, '--port', `${HTTP_SERVICE_PORT}/tcp`])
  await cli(['--redis', redis.url, 'register', SERVICE, '--address', DEST_HOST, '--node', 'node-b',
    '--port', `${IPERF_SERVICE_PORT}=${s.iperfPort}`, '--port', `${HTTP_SERVICE_PORT}=${s.httpPort}`])
  const services = JSON.parse(await cli(['--redis', redis.url, 'services', '-o', 'json'])) as Array<{ name: string; vip?: string }>
  const vip = services.find((x) => x.name === SERVICE)?.vip
  if (!vip) throw new Error(`service ${SERVICE} has no VIP in \`services -o json\`: ${JSON.stringify(services)}`)

  const startAgent = async (node: string, host: string): Promise<{ proc: Managed; tunnelPort: number; metricsPort: number }> => {
    const stateDir = path.join(dir, node)
    fs.mkdirSync(stateDir)
    const ready = await freePort()
    const tunnelPort = await freePort(host)
    const metricsPort = await freePort()
    const args = [
      'agent', '--node', node, '--state-dir', stateDir, '--redis', redis.url, '--ca-dir', caDir, '--log-level', 'warn',
      '--local-address', host, '--tunnel-address', `${host}:${tunnelPort}`, '--observe-address', '127.0.0.1',
      '--dns-port', String(await freePort(host)), '--http-proxy-port', String(await freePort(host)),
      '--admin-port', String(await freePort()), '--metrics-port', String(metricsPort), '--ready-port', String(ready),
    ]
    const nodeArgs = s.profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(s.profileDir)] : []
    const proc = startProcess(`nodemesh agent ${node}`, process.execPath, [...nodeArgs, CLI, ...args], env)
    await waitForStatus(proc, `http://127.0.0.1:${ready}/healthz/ready`, 30_000)
    return { proc, tunnelPort, metricsPort }
  }
  const a = await startAgent('node-a', SOURCE_HOST)
  const b = await startAgent('node-b', DEST_HOST)

  const http = { host: vip, port: HTTP_SERVICE_PORT }
  await waitForTunnel([a.proc, b.proc], () => oneExchange(http), 30_000)

  const version = (await run(process.execPath, [CLI, '--version'], env)).stdout.trim() || 'dev'
  const mib = (n: number): string => `${n / (1024 * 1024)} MiB`
  return {
    name: 'nodemesh',
    iperf: { host: vip, port: IPERF_SERVICE_PORT },
    http,
    proxyPids: () => [a.proc.pid, b.proc.pid],
    procs: [a.proc, b.proc, redis.proc],
    tunnelSessionsAccepted: async () => {
      const n = await agentMetric(b.metricsPort, TUNNEL_SESSIONS_ACCEPTED)
      if (n === null) throw new Error(`no ${TUNNEL_SESSIONS_ACCEPTED} in node-b's /metrics`)
      return n
    },
    describe: `agents ${version} on node ${process.version} (A pid ${a.proc.pid}, B pid ${b.proc.pid}), redis registry, ` +
      `CA via --ca-dir; VIP ${vip}, tunnel ${DEST_HOST}:${b.tunnelPort}; HTTP/2 windows: stream ${mib(TUNNEL_HTTP2_SETTINGS.initialWindowSize)}, ` +
      `session ${mib(TUNNEL_SESSION_WINDOW)}, max frame ${TUNNEL_HTTP2_SETTINGS.maxFrameSize / 1024} KiB`,
  }
}

/** Until one exchange through the VIP gets 200: listeners up, B in A's table, certificates issued. */
async function waitForTunnel(procs: Managed[], attempt: () => Promise<string | undefined>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: string | undefined = 'not tried'
  for (;;) {
    for (const p of procs) if (p.exited()) { await p.drained(); throw new Error(`${p.name} exited:\n${p.tail()}`) }
    last = await attempt()
    if (last === undefined) return
    if (Date.now() > deadline) throw new Error(`no answer through the tunnel within ${timeoutMs} ms (last: ${last}):\n${procs.map((p) => `${p.name}: ${p.tail()}`).join('\n')}`)
    await sleep(200)
  }
}
