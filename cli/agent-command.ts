/** `nodemesh agent`: runs the per-node daemon until SIGINT or SIGTERM. */
import os from 'node:os'
import { Option, type Command } from 'commander'
import { tuneHeapForDataPlane } from '../agent/tune-heap'
import { buildAgentOptions, type AgentFlags } from './build-agent-options'
import { collect } from './cli-context'

export function addAgentCommand(program: Command): void {
  program.command('agent')
    .description('run the nodemesh agent on this host')
    .option('--node <name>', 'this host\'s node name (default: the hostname)')
    .option('--registry <spec>', 'file:PATH for the embedded registry (default file:STATE_DIR/registry.json)')
    .option('--local-address <ip>', 'address of the DNS and HTTP proxy listeners (default 127.0.0.1)')
    .option('--dns-port <port>', 'DNS port, UDP and TCP (default 15053)')
    .option('--dns-domain <domain>', 'mesh DNS domain (default mesh)')
    .option('--dns-upstream <ip[:port]>', 'resolver for non-mesh names, by address (port 53 unless given); repeatable (default from /etc/resolv.conf)', collect, [])
    .option('--http-proxy-port <port>', 'HTTP proxy endpoint port (default 15080)')
    .option('--admin-port <port>', 'admin port on 127.0.0.1 (default 15000)')
    .option('--observe-address <ip>', 'address of /metrics and /healthz/ready (default 0.0.0.0)')
    .option('--metrics-port <port>', 'Prometheus port (default 15020)')
    .option('--ready-port <port>', 'readiness port (default 15021)')
    .option('--capture', 'capture mode: iptables redirects TCP to the mesh VIP CIDR to the agent (root or CAP_NET_ADMIN; for Kubernetes and containers)')
    .option('--vip-cidr <cidr>', 'the VIP CIDR this agent expects (set mesh-wide with `nodemesh mesh init --vip-cidr`); a mismatch is reported at start')
    .option('--capture-port <port>', 'where captured connections arrive (default 15001)')
    .option('--tunnel-address <ip[:port]>', 'inbound tunnel listener, published for other agents (default: first non-loopback IPv4, port 15008)')
    .option('--ca-dir <dir>', 'single host: sign workload certificates with the CA in DIR (from `nodemesh ca init`)')
    .option('--node-credential <dir>', 'node credential bundle from `nodemesh ca issue-node` (with --ca-address)')
    .option('--join-token <token>', 'one-time token from `nodemesh ca node-token` (with --ca-address and --ca-bundle)')
    .option('--ca-address <host:port>', 'where `nodemesh ca serve` listens')
    .option('--ca-bundle <file>', 'the mesh CA certificate (ca.crt), to trust the CA when joining')
    .option('--lease-ttl <seconds>', 'lease TTL of endpoints registered through this agent (default 15)')
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default info)').env('NODEMESH_LOG_LEVEL'))
    .action(async (_o: object, cmd: Command) => {
      const o = cmd.optsWithGlobals<Omit<AgentFlags, 'redisFromEnv'>>()
      const redisFromEnv = cmd.getOptionValueSourceWithGlobals('redis') === 'env'
      const opts = buildAgentOptions({ ...o, ...(o.redis ? {} : { redis: undefined }), redisFromEnv }, process.env, os.hostname(), primaryAddress())
      // Handlers go in before startup: a stop asked for while starting (systemctl stop, a
      // rolling update) must still close cleanly and remove what the agent installed.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      const { runAgent } = require('../agent/run-agent') as typeof import('../agent/run-agent')
      tuneHeapForDataPlane()
      const agent = await runAgent(opts)
      await stopped
      await agent.close()
    })
}

/** The first non-internal IPv4 address: what other hosts most likely reach this one on. */
function primaryAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}
