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
  /**
   * `host:port` of the inbound tunnel listener, also published in this node's record for
   * other agents to dial. Default: the first non-internal IPv4 address, port 15008.
   */
  readonly tunnelAddress: string
  /** Where workload certificates come from (see IdentitySource). */
  readonly identity: IdentitySource
  /**
   * Capture mode: iptables REDIRECTs TCP to the VIP CIDR to `capturePort` (root or
   * CAP_NET_ADMIN); no per-VIP listeners. Bind mode (false) listens on each VIP:port.
   */
  readonly capture: boolean
  readonly capturePort: number
  /**
   * The VIP CIDR this agent expects. The CIDR itself is a registry setting every agent shares
   * (`nodemesh mesh init --vip-cidr`); the agent says so at start when the two differ.
   */
  readonly vipCidr?: string
  /** Lease TTL of the endpoints registered through this agent; heartbeat every third of it. */
  readonly leaseTtlMs: number
  readonly logLevel: string
}

export type IdentitySource =
  /** Single host: sign with the CA in this directory, in process. */
  | { readonly kind: 'ca-dir'; readonly caDir: string }
  /** An offline bundle from `nodemesh ca issue-node` (node.key, node.crt, ca.crt). */
  | { readonly kind: 'node-credential'; readonly dir: string; readonly caAddress: string }
  /** A one-time token from `nodemesh ca node-token`, exchanged once; kept in the state dir. */
  | { readonly kind: 'join-token'; readonly token: string; readonly caAddress: string; readonly caBundle: string }
  /** No CA configured: a credential saved in the state directory by an earlier join, or none. */
  | { readonly kind: 'saved' }

export const DEFAULT_TUNNEL_PORT = 15008

export const AGENT_DEFAULTS = {
  localAddress: '127.0.0.1',
  dnsPort: 15053,
  dnsDomain: 'mesh',
  httpProxyPort: 15080,
  adminPort: 15000,
  observeAddress: '0.0.0.0',
  metricsPort: 15020,
  readyPort: 15021,
  capturePort: 15001,
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
