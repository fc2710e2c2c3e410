/** The names the CA's TLS certificate answers to: what agents may put in --ca-address. */
import net from 'node:net'
import os from 'node:os'

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
