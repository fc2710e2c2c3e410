/**
 * `LISTEN_IP:PORT=TARGET_IP:PORT`: how the reference relays (node-relay, node-h2) are told
 * what to accept where and forward to where, one argument per forward.
 */
import { joinHostPort } from '../agent/address-text'
import { parseHostPort } from '../agent/tunnel/plan-inbound'
import { DEST_HOST, type BackendPorts, type HostPort } from './tunnel-arm'

export interface ForwardSpec {
  readonly listen: HostPort
  readonly target: HostPort
}

function formatForwardSpec(f: ForwardSpec): string {
  return `${joinHostPort(f.listen.host, f.listen.port)}=${joinHostPort(f.target.host, f.target.port)}`
}

/** The two forwards of a reference arm: `iperf` and `http` on the source host to the destination's backends. */
export function backendForwards(b: BackendPorts, iperf: HostPort, http: HostPort): string[] {
  return [
    formatForwardSpec({ listen: iperf, target: { host: DEST_HOST, port: b.iperfPort } }),
    formatForwardSpec({ listen: http, target: { host: DEST_HOST, port: b.httpPort } }),
  ]
}

export function parseForwardSpec(text: string): ForwardSpec {
  const [listen, target, ...rest] = text.split('=')
  if (listen === undefined || target === undefined || rest.length > 0) throw new Error(`expected LISTEN_IP:PORT=TARGET_IP:PORT, got ${JSON.stringify(text)}`)
  return { listen: hostPortOf(listen), target: hostPortOf(target) }
}

/** `IP:PORT`, read as the agent reads an `:authority` (plan-inbound.ts). */
export function hostPortOf(text: string): HostPort {
  const hp = parseHostPort(text)
  if (hp === undefined) throw new Error(`expected IP:PORT, got ${JSON.stringify(text)}`)
  return { host: hp.host, port: hp.port }
}
