/** The names the CA's TLS certificate answers to: what agents may put in --ca-address. */
import net from 'node:net'
import os from 'node:os'

/**
 * Every CA certificate answers to this name, and agents verify the CA against it: agents
 * often reach the CA by IP, and a TLS server name may not be an IP (RFC 6066). Only the CA
 * makes certificates with DNS names (workload and node certificates carry one URI SAN).
 */
export const CA_SERVICE_NAME = 'nodemesh-ca'

export function defaultServerNames(): string[] {
  const names = ['localhost', os.hostname()]
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) names.push(a.address.replace(/%.*$/, ''))
  }
  return names
}

/** Splits names into DNS names and IP addresses, without repeats. */
export function splitServerNames(names: readonly string[]): { dnsNames: string[]; ips: string[] } {
  const dnsNames = new Set<string>()
  const ips = new Set<string>()
  for (const n of names) {
    if (n === '') continue
    if (net.isIP(n)) ips.add(n)
    else dnsNames.add(n.toLowerCase())
  }
  return { dnsNames: [...dnsNames], ips: [...ips] }
}
