/**
 * Upstreams from resolv.conf, the host's own resolver list: the default for forwarding names
 * outside the mesh when no upstream is configured.
 */
import fs from 'node:fs/promises'
import net from 'node:net'
import { NmError } from '../../registry/errors'
import { DNS_PORT, parseUpstream, type Upstream } from './parse-upstream'

export const RESOLV_CONF_PATH = '/etc/resolv.conf'

/** `nameserver` lines, in order, duplicates dropped; anything unparsable is skipped. */
export function parseResolvConf(text: string): Upstream[] {
  const seen = new Set<string>()
  const out: Upstream[] = []
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '').trim()
    const [keyword, address] = line.split(/\s+/)
    if (keyword !== 'nameserver' || !address) continue
    if (net.isIP(address.split('%')[0]!) === 0) continue
    if (seen.has(address)) continue
    seen.add(address)
    out.push({ host: address, port: DNS_PORT })
  }
  return out
}

export async function loadResolvConfUpstreams(path: string = RESOLV_CONF_PATH): Promise<Upstream[]> {
  let text: string
  try {
    text = await fs.readFile(path, 'utf8')
  } catch (err) {
    throw new NmError('NM_BAD_ARGUMENT',
      `cannot read ${path} for DNS upstreams (${(err as Error).message}); pass --dns-upstream IP[:PORT]`, { cause: err })
  }
  const upstreams = parseResolvConf(text)
  if (upstreams.length === 0) {
    throw new NmError('NM_BAD_ARGUMENT', `${path} has no usable nameserver line; pass --dns-upstream IP[:PORT]`)
  }
  return upstreams
}

/** Configured `IP[:PORT]` upstreams when given (`--dns-upstream`), else the host's resolv.conf. */
export async function chooseUpstreams(specs: readonly string[] | undefined, path: string = RESOLV_CONF_PATH): Promise<Upstream[]> {
  if (specs && specs.length > 0) return specs.map(parseUpstream)
  return loadResolvConfUpstreams(path)
}
