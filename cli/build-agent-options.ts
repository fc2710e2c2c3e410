/**
 * `nodemesh agent` flags and environment -> AgentOptions. Pure: every value is checked here,
 * so the agent starts only with options that make sense.
 */
import path from 'node:path'
import { AGENT_DEFAULTS, defaultApiSocket, defaultStateDir, type AgentOptions } from '../agent/agent-options'
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

export function buildAgentOptions(flags: AgentFlags, env: NodeJS.ProcessEnv, hostname: string): AgentOptions {
  const node = flags.node ?? hostname
  if (!isValidNodeName(node)) {
    throw new NmError('NM_BAD_ARGUMENT', `node name "${node}" must be a host name (letters, digits, '.', '-', '_'): set it with --node`)
  }
  const stateDir = path.resolve(flags.stateDir ?? defaultStateDir(env))
  const port = (text: string | undefined, flag: string, fallback: number) => (text === undefined ? fallback : parsePortFlag(text, flag))
  const upstreams = (flags.dnsUpstream ?? []).map((u) => parseHostPort(u, '--dns-upstream'))
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
    leaseTtlMs: flags.leaseTtl === undefined ? AGENT_DEFAULTS.leaseTtlMs : parseLeaseTtlSeconds(flags.leaseTtl),
    logLevel: parseLogLevel(flags.logLevel ?? env.NODEMESH_LOG_LEVEL ?? AGENT_DEFAULTS.logLevel),
  }
}
