/**
 * Upstream resolvers for names outside the mesh, as operators write them:
 * `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT`; a bare IPv6 address means port 53.
 */
import net from 'node:net'
import { NmError } from '../../registry/errors'

export interface Upstream {
  readonly host: string
  readonly port: number
}

export const DNS_PORT = 53

export function parseUpstream(spec: string): Upstream {
  const s = spec.trim()
  const bad = (why: string): never => {
    throw new NmError('NM_BAD_ARGUMENT', `DNS upstream "${spec}" ${why}; write IP, IP:PORT or [IPV6]:PORT`)
  }
  let host = s
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s)
  if (bracketed) {
    host = bracketed[1]!
    portText = bracketed[2]
  } else if (s.split(':').length === 2) {
    ;[host, portText] = s.split(':') as [string, string]
  }
  if (!host) bad('has no host')
  // IPv6 zone ids (`fe80::1%eth0`) are valid for a link-local resolver; validate without them.
  if (net.isIP(host.split('%')[0]!) === 0) bad('is not an IP address (resolvers are given by address)')
  if (bracketed && net.isIPv6(host.split('%')[0]!) === false) bad('puts brackets around a non-IPv6 address')
  let port = DNS_PORT
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) bad('has a port that is not a number')
    port = Number(portText)
    if (port < 1 || port > 65535) bad('has a port outside 1..65535')
  }
  return { host, port }
}

export function formatUpstream(u: Upstream): string {
  return net.isIPv6(u.host.split('%')[0]!) ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`
}
