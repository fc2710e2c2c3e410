/**
 * `nodemesh agent` flags and environment -> AgentOptions. Pure: every value is checked here,
 * so the agent starts only with options that make sense.
 */
import { parseUpstream } from '../agent/dns/parse-upstream'
import path from 'node:path'
import net from 'node:net'
import { parseCidr } from '../registry/cidr'
import { AGENT_DEFAULTS, DEFAULT_TUNNEL_PORT, defaultApiSocket, defaultStateDir, type AgentOptions, type IdentitySource } from '../agent/agent-options'
import { NmError } from '../registry/errors'
import { isValidNodeName } from '../registry/names'
import {
  parseAddress, parseDnsName, parseHostPort, parseLeaseTtlSeconds, parseLogLevel, parsePortFlag, parseRedisUrl,
  parseRegistrySpec,
} from './parse-flag-values'

export interface AgentFlags {
  readonly node?: string
  readonly redis?: string
  /** True when `redis` came from NODEMESH_REDIS_URL rather than the command line. */
  readonly redisFromEnv?: boolean
  readonly registry?: string
  readonly stateDir?: string
  readonly apiSocket?: string
  readonly localAddress?: string
  readonly dnsPort?: string
  readonly dnsDomain?: string
  readonly dnsUpstream?: readonly string[]
  readonly httpProxyPort?: string
  readonly adminPort?: string
  readonly observeAddress?: string
  readonly metricsPort?: string
  readonly readyPort?: string
  readonly leaseTtl?: string
  readonly logLevel?: string
  readonly capture?: boolean
  readonly vipCidr?: string
  readonly capturePort?: string
  readonly tunnelAddress?: string
  readonly caDir?: string
  readonly nodeCredential?: string
  readonly joinToken?: string
  readonly caAddress?: string
  readonly caBundle?: string
}

/** `HOST` or `HOST:PORT` (IPv6 in brackets with a port); the tunnel port defaults to 15008. */
function chooseTunnelAddress(text: string | undefined, primaryAddress: string): string {
  if (text === undefined) return net.isIPv6(primaryAddress) ? `[${primaryAddress}]:${DEFAULT_TUNNEL_PORT}` : `${primaryAddress}:${DEFAULT_TUNNEL_PORT}`
  if (net.isIPv4(text)) return `${text}:${DEFAULT_TUNNEL_PORT}`
  if (net.isIPv6(text)) return `[${text}]:${DEFAULT_TUNNEL_PORT}`
  const hostPort = parseHostPort(text, '--tunnel-address')
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '')
  if (net.isIP(host) === 0) throw new NmError('NM_BAD_ARGUMENT', `--tunnel-address "${text}" must be an IP address, optionally with :PORT (it is published for other agents to dial)`)
  return hostPort
}

function parseVipCidrFlag(text: string): string {
  const r = parseCidr(text, { minPrefix: 8, maxPrefix: 30 })
  if (!r.ok) throw new NmError('NM_BAD_ARGUMENT', `--vip-cidr "${text}": ${r.reason}`)
  return text
}

function chooseIdentity(flags: AgentFlags): IdentitySource {
  const given = [flags.caDir && '--ca-dir', flags.nodeCredential && '--node-credential', flags.joinToken && '--join-token'].filter(Boolean)
  if (given.length > 1) throw new NmError('NM_BAD_ARGUMENT', `give one of --ca-dir, --node-credential or --join-token, not ${given.join(' and ')}`)
  const caAddress = (why: string): string => {
    if (!flags.caAddress) throw new NmError('NM_BAD_ARGUMENT', `${why} needs --ca-address HOST:PORT (where \`nodemesh ca serve\` listens)`)
    return parseHostPort(flags.caAddress, '--ca-address')
  }
  if (flags.caDir) return { kind: 'ca-dir', caDir: path.resolve(flags.caDir) }
  if (flags.nodeCredential) return { kind: 'node-credential', dir: path.resolve(flags.nodeCredential), caAddress: caAddress('--node-credential') }
  if (flags.joinToken) {
    if (!flags.caBundle) throw new NmError('NM_BAD_ARGUMENT', '--join-token needs --ca-bundle FILE (the CA certificate, ca.crt) to trust the CA it joins')
    return { kind: 'join-token', token: flags.joinToken, caAddress: caAddress('--join-token'), caBundle: path.resolve(flags.caBundle) }
  }
  return { kind: 'saved' }
}

function chooseRegistry(flags: AgentFlags, stateDir: string): string {
  if (flags.redis && flags.registry && !flags.redisFromEnv) {
    throw new NmError('NM_BAD_ARGUMENT', 'give either --redis URL or --registry file:PATH, not both')
  }
  // An explicit --registry beats a Redis URL that only came from the environment.
  if (flags.registry) return parseRegistrySpec(flags.registry)
  if (flags.redis) return parseRedisUrl(flags.redis)
  return `file:${path.join(stateDir, 'registry.json')}`
}

export function buildAgentOptions(flags: AgentFlags, env: NodeJS.ProcessEnv, hostname: string, primaryAddress = '127.0.0.1'): AgentOptions {
  const node = flags.node ?? hostname
  if (!isValidNodeName(node)) {
    throw new NmError('NM_BAD_ARGUMENT', `node name "${node}" must be a host name (letters, digits, '.', '-', '_'): set it with --node`)
  }
  const stateDir = path.resolve(flags.stateDir ?? defaultStateDir(env))
  const port = (text: string | undefined, flag: string, fallback: number) => (text === undefined ? fallback : parsePortFlag(text, flag))
  // The agent's own parser, so the CLI accepts exactly what the agent will use.
  const upstreams = (flags.dnsUpstream ?? []).map((u) => { parseUpstream(u); return u })
  return {
    node,
    registry: chooseRegistry(flags, stateDir),
    stateDir,
    apiSocket: path.resolve(flags.apiSocket ?? defaultApiSocket(stateDir)),
    localAddress: flags.localAddress === undefined ? AGENT_DEFAULTS.localAddress : parseAddress(flags.localAddress, '--local-address'),
    dnsPort: port(flags.dnsPort, '--dns-port', AGENT_DEFAULTS.dnsPort),
    dnsDomain: flags.dnsDomain === undefined ? AGENT_DEFAULTS.dnsDomain : parseDnsName(flags.dnsDomain, '--dns-domain'),
    ...(upstreams.length > 0 ? { dnsUpstreams: upstreams } : {}),
    httpProxyPort: port(flags.httpProxyPort, '--http-proxy-port', AGENT_DEFAULTS.httpProxyPort),
    adminPort: port(flags.adminPort, '--admin-port', AGENT_DEFAULTS.adminPort),
    observeAddress: flags.observeAddress === undefined ? AGENT_DEFAULTS.observeAddress : parseAddress(flags.observeAddress, '--observe-address'),
    metricsPort: port(flags.metricsPort, '--metrics-port', AGENT_DEFAULTS.metricsPort),
    readyPort: port(flags.readyPort, '--ready-port', AGENT_DEFAULTS.readyPort),
    tunnelAddress: chooseTunnelAddress(flags.tunnelAddress, primaryAddress),
    capture: flags.capture === true,
    capturePort: port(flags.capturePort, '--capture-port', AGENT_DEFAULTS.capturePort),
    ...(flags.vipCidr === undefined ? {} : { vipCidr: parseVipCidrFlag(flags.vipCidr) }),
    identity: chooseIdentity(flags),
    leaseTtlMs: flags.leaseTtl === undefined ? AGENT_DEFAULTS.leaseTtlMs : parseLeaseTtlSeconds(flags.leaseTtl),
    logLevel: parseLogLevel(flags.logLevel ?? env.NODEMESH_LOG_LEVEL ?? AGENT_DEFAULTS.logLevel),
  }
}
