/**
 * Arms of the capture suite. bind and capture each get a namespace of their own holding one
 * agent, its embedded registry, the backends (iperf3 -s, the HTTP/1.0 responder, both on
 * 127.0.0.1) and the clients, so clients are host processes and captured connections go
 * through the OUTPUT chain. direct runs in the bind namespace, straight to its backends.
 * stunnel-arm.ts picks its ports from this process's namespace, so it cannot run inside one:
 * the stunnel arm runs on the root namespace's loopback instead (127.0.20.1 -> 127.0.20.2),
 * with the same backend programs, measured in the same interleaved rounds.
 */
import fs from 'node:fs'
import path from 'node:path'
import { AGENT_DEFAULTS } from '../agent/agent-options'
import { createNamespace, ipIn, runIn, startIn, waitForPortIn } from './bench-netns'
import { freePort, makeTempDir, run, sleep, startProcess, waitForPort, which, type Managed } from './processes'
import { startStunnelArm } from './stunnel-arm'
import { DEST_HOST, type HostPort } from './tunnel-arm'

export const CAPTURE_ARM_NAMES = ['direct', 'bind', 'bind-ct', 'capture', 'stunnel'] as const
export type CaptureArmName = (typeof CAPTURE_ARM_NAMES)[number]

const CLI = path.join(__dirname, '..', 'cli', 'main.js')
export const CLIENT = path.join(__dirname, 'capture-client-main.js')
const RESPONDER = path.join(__dirname, 'http10-responder-main.js')
const VIP_CIDR = '240.240.0.0/16'
const SERVICE = 'capture-bench'
const IPERF_SERVICE_PORT = 15201
const HTTP_SERVICE_PORT = 15202
/** A fresh namespace has every port free: fixed backend ports keep the logs readable. */
const NS_IPERF_PORT = 5201
const NS_HTTP_PORT = 8081

export interface CaptureArm {
  readonly name: CaptureArmName
  /** Namespace the clients run in; undefined for the root namespace. */
  readonly ns?: string
  readonly iperf: HostPort
  readonly http: HostPort
  /** Pids whose CPU is the arm's cost (the agent; both stunnels); empty for direct. */
  readonly pids: readonly number[]
  /** The agent's metrics port in `ns`, for its GC counts; mesh arms only. */
  readonly agentMetricsPort?: number
  readonly procs: readonly Managed[]
  readonly describe: string
}

export interface CaptureSkipped { readonly name: CaptureArmName; readonly reason: string }

interface NsBackends { readonly procs: Managed[] }

async function startNsBackends(ns: string): Promise<NsBackends> {
  const iperf = startIn(ns, `iperf3 server (${ns})`, 'iperf3', ['-s', '-B', '127.0.0.1', '-p', String(NS_IPERF_PORT)])
  await waitForPortIn(ns, iperf, '127.0.0.1', NS_IPERF_PORT)
  const web = startIn(ns, `HTTP/1.0 responder (${ns})`, process.execPath, [RESPONDER, '127.0.0.1', String(NS_HTTP_PORT)])
  await waitForPortIn(ns, web, '127.0.0.1', NS_HTTP_PORT)
  return { procs: [iperf, web] }
}

/**
 * The rule that turns connection tracking on in bind-ct's namespace: the usual first rule of a
 * stateful firewall. A fresh namespace has no netfilter hooks, so bind mode there pays nothing
 * for conntrack while capture mode (REDIRECT needs it) pays it on every packet of both legs.
 * Kubernetes nodes (kube-proxy), Docker hosts and firewalled VMs track connections anyway;
 * bind-ct is bind mode on such a host, capture's like-for-like baseline.
 */
const CONNTRACK_RULE = ['-w', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']

/** One namespace, one agent (bind or capture mode), one tcp service with its endpoints in the namespace. */
export async function startMeshArm(arm: 'bind' | 'bind-ct' | 'capture'): Promise<CaptureArm> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing (build first: npm run build)`)
  const mode = arm === 'capture' ? 'capture' : 'bind'
  const ns = createNamespace(arm === 'capture' ? 'cap' : arm)
  if (arm === 'bind-ct') {
    const r = await runIn(ns, 'iptables', CONNTRACK_RULE)
    if (r.code !== 0) throw new Error(`bind-ct: iptables ${CONNTRACK_RULE.join(' ')} failed in ${ns}: ${r.stderr.trim()}`)
  }
  // Both namespaces get the local route, so routing is the same in both and a client bound to
  // 127.0.20.1 has a route to the VIPs at all (a loopback source never leaves through another
  // device). Bind mode needs it to listen on a VIP; in capture mode nothing listens there and
  // the OUTPUT REDIRECT rule is what delivers the connection, to the capture listener.
  ipIn(ns, 'route', 'add', 'local', VIP_CIDR, 'dev', 'lo')
  const backends = await startNsBackends(ns)
  const stateDir = makeTempDir(`nm-bench-${arm}-`)
  const env = { ...process.env, NODEMESH_REDIS_URL: '', NODEMESH_STATE_DIR: stateDir, NODEMESH_LOG_LEVEL: 'warn' }
  const agent = startIn(ns, `nodemesh agent (${arm})`, process.execPath,
    [CLI, 'agent', '--node', `bench-${arm}`, '--state-dir', stateDir, '--log-level', 'warn', ...(mode === 'capture' ? ['--capture'] : [])], env)
  // The API socket is a file in the state dir, so the CLI reaches the agent from the root namespace.
  const cli = async (args: string[]): Promise<string> => {
    const r = await run(process.execPath, [CLI, ...args], env)
    if (r.code !== 0) throw new Error(`nodemesh ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
    return r.stdout
  }
  await untilAgentAnswers(agent, () => cli(['mesh', 'init', '--vip-cidr', VIP_CIDR]))
  await cli(['service', 'create', SERVICE, '--port', `${IPERF_SERVICE_PORT}/tcp`, '--port', `${HTTP_SERVICE_PORT}/tcp`])
  await cli(['register', SERVICE, '--address', '127.0.0.1', '--port', `${IPERF_SERVICE_PORT}=${NS_IPERF_PORT}`, '--port', `${HTTP_SERVICE_PORT}=${NS_HTTP_PORT}`])
  const services = JSON.parse(await cli(['services', '-o', 'json'])) as Array<{ name: string; vip?: string }>
  const vip = services.find((x) => x.name === SERVICE)?.vip
  if (!vip) throw new Error(`service ${SERVICE} has no VIP in \`services -o json\`: ${JSON.stringify(services)}`)

  // The VIP answers once the agent saw the service and its endpoints (and, in capture mode, set up its rules).
  const probe = await runIn(ns, process.execPath, [CLIENT, 'probe', vip, String(HTTP_SERVICE_PORT), '30'], 40_000)
  const probed = /"ok":true/.test(probe.stdout)
  if (!probed) throw new Error(`${arm}: ${vip}:${HTTP_SERVICE_PORT} never answered in ${ns}: ${probe.stdout.trim()} ${probe.stderr.trim()}\n${agent.tail()}`)
  const rules = mode === 'capture' ? (await runIn(ns, 'iptables', ['-w', '-t', 'nat', '-S'])).stdout.split('\n').filter((l) => l.includes('REDIRECT')) : []
  const version = (await run(process.execPath, [CLI, '--version'])).stdout.trim() || 'dev'
  return {
    name: arm, ns,
    iperf: { host: vip, port: IPERF_SERVICE_PORT }, http: { host: vip, port: HTTP_SERVICE_PORT },
    pids: [agent.pid], procs: [agent, ...backends.procs], agentMetricsPort: AGENT_DEFAULTS.metricsPort,
    describe: `agent ${version} (pid ${agent.pid}) in ${ns}, embedded registry, VIP ${vip}` +
      (mode === 'bind' ? ', listeners bound on the VIP' : `, ${rules.join('; ') || 'no REDIRECT rule seen'}`) +
      (arm === 'bind-ct' ? `, connection tracking on (iptables ${CONNTRACK_RULE.slice(1).join(' ')})` : ''),
  }
}

export function directArm(bind: CaptureArm): CaptureArm {
  const ns = bind.ns as string
  return {
    name: 'direct', ns, iperf: { host: '127.0.0.1', port: NS_IPERF_PORT }, http: { host: '127.0.0.1', port: NS_HTTP_PORT },
    pids: [], procs: bind.procs, describe: `in ${ns}, straight to the backends on 127.0.0.1`,
  }
}

export async function startHostStunnelArm(): Promise<CaptureArm | CaptureSkipped> {
  const iperf3 = which('iperf3') as string
  const iperfPort = await freePort(DEST_HOST)
  const iperf = startProcess('iperf3 server (host)', iperf3, ['-s', '-B', DEST_HOST, '-p', String(iperfPort)])
  await waitForPort(iperf, DEST_HOST, iperfPort)
  const httpPort = await freePort(DEST_HOST)
  const web = startProcess('HTTP/1.0 responder (host)', process.execPath, [RESPONDER, DEST_HOST, String(httpPort)])
  await waitForPort(web, DEST_HOST, httpPort)
  const arm = await startStunnelArm({ iperfPort, httpPort })
  if ('reason' in arm) return { name: 'stunnel', reason: arm.reason }
  return {
    name: 'stunnel', iperf: arm.iperf, http: arm.http, pids: arm.proxyPids(), procs: [...arm.procs, iperf, web],
    describe: `${arm.describe}; root namespace, same backend programs`,
  }
}

async function untilAgentAnswers(agent: Managed, attempt: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (agent.exited()) { await agent.drained(); throw new Error(`${agent.name} exited:\n${agent.tail()}`) }
    try { await attempt(); return } catch (err) {
      if (Date.now() > deadline) throw new Error(`${agent.name} API not answering after ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}\n${agent.tail()}`)
    }
    await sleep(200)
  }
}
