/**
 * Everything `nodemesh agent` can be told. The CLI maps flags and environment onto this; the
 * agent (`run-agent.ts`) only reads it.
 */
import os from 'node:os'
import path from 'node:path'

export interface AgentOptions {
  /** This host's node name (default: the hostname). */
  readonly node: string
  /** `redis://`, `rediss://` or `file:PATH`; default `file:STATE_DIR/registry.json`. */
  readonly registry: string
  readonly stateDir: string
  /** Unix socket of the agent's gRPC API; default `STATE_DIR/agent.sock`. */
  readonly apiSocket: string
  /** Address for node-local listeners: DNS and the HTTP proxy endpoint. */
  readonly localAddress: string
  readonly dnsPort: number
  readonly dnsDomain: string
  /** `host:port` upstreams for non-mesh names; default from /etc/resolv.conf. */
  readonly dnsUpstreams?: readonly string[]
  readonly httpProxyPort: number
  readonly adminPort: number
  /** Address for /metrics and /healthz/ready (scraped and probed from outside the host). */
  readonly observeAddress: string
  readonly metricsPort: number
  readonly readyPort: number
  /** Lease TTL of the endpoints registered through this agent; heartbeat every third of it. */
  readonly leaseTtlMs: number
  readonly logLevel: string
}

export const AGENT_DEFAULTS = {
  localAddress: '127.0.0.1',
  dnsPort: 15053,
  dnsDomain: 'mesh',
  httpProxyPort: 15080,
  adminPort: 15000,
  observeAddress: '0.0.0.0',
  metricsPort: 15020,
  readyPort: 15021,
  leaseTtlMs: 15_000,
  logLevel: 'info',
} as const

/** `NODEMESH_STATE_DIR`, else /var/lib/nodemesh for root, else the user's XDG state dir. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NODEMESH_STATE_DIR) return env.NODEMESH_STATE_DIR
  if (process.getuid?.() === 0) return '/var/lib/nodemesh'
  const base = env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state')
  return path.join(base, 'nodemesh')
}

export function defaultApiSocket(stateDir: string): string {
  return path.join(stateDir, 'agent.sock')
}
