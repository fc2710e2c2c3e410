/**
 * Parsers for single CLI flag values. Each returns the typed value or throws NM_BAD_ARGUMENT
 * naming the flag and what it wants, so every bad argument ends as one clear line.
 */
import net from 'node:net'
import { parseCidr } from '../registry/cidr'
import { NmError } from '../registry/errors'
import { isValidDnsName, isValidLabelKey, isValidNodeName } from '../registry/names'

function bad(message: string): never {
  throw new NmError('NM_BAD_ARGUMENT', message)
}

export function parseInteger(text: string, flag: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) < min || Number(text) > max) bad(`${flag} "${text}" must be a whole number ${min}..${max}`)
  return Number(text)
}

export function parsePortFlag(text: string, flag: string): number {
  return parseInteger(text, flag, 1, 65535)
}

export function parseAddress(text: string, flag: string): string {
  if (net.isIP(text) === 0) bad(`${flag} "${text}" is not an IP address (want e.g. 10.0.0.5 or fd00::5)`)
  return text
}

export function parseWeight(text: string): number {
  return parseInteger(text, '--weight', 1, 1000)
}

/** Lease TTL in seconds (2..3600) to milliseconds: the agent heartbeats every third of it. */
export function parseLeaseTtlSeconds(text: string): number {
  return parseInteger(text, '--lease-ttl', 2, 3600) * 1000
}

const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/

/** Repeated `--label k=v` into a map; a key given twice is refused rather than silently overwritten. */
export function parseLabels(specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of specs) {
    const eq = spec.indexOf('=')
    if (eq <= 0) bad(`--label "${spec}" must be KEY=VALUE, e.g. version=v2`)
    const key = spec.slice(0, eq)
    const value = spec.slice(eq + 1)
    if (!isValidLabelKey(key)) bad(`--label key "${key}" must be [PREFIX/]NAME of letters, digits, '.', '-', '_' (max 63)`)
    if (!LABEL_VALUE.test(value)) bad(`--label value "${value}" must be letters, digits, '.', '-', '_' (max 63)`)
    if (key in out) bad(`--label ${key} is given twice`)
    out[key] = value
  }
  return out
}

export function parseVipCidr(text: string): string {
  const r = parseCidr(text, { minPrefix: 8, maxPrefix: 30 })
  if (!r.ok) bad(`--vip-cidr ${r.reason}`)
  return r.value.text
}

export function parseDnsName(text: string, flag: string): string {
  if (text.length > 253 || !isValidDnsName(text)) bad(`${flag} "${text}" must be a DNS name (lowercase labels joined by '.')`)
  return text
}

export function parseNodeName(text: string, what = '--node'): string {
  if (!isValidNodeName(text)) bad(`${what} "${text}" must be a host name (letters, digits, '.', '-', '_')`)
  return text
}

/** `HOST:PORT` or `[IPV6]:PORT`, as --ca-address, --listen and --tunnel-address take it. */
export function parseHostPort(text: string, flag: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]+)$/.exec(text)
  const host = m?.[1] ?? m?.[2]
  if (!m || !host || (m[1] !== undefined && net.isIP(host) !== 6)) bad(`${flag} "${text}" must be HOST:PORT, e.g. 1.1.1.1:53 or [2606:4700::1111]:53`)
  parsePortFlag(m[3]!, `${flag} port in "${text}":`)
  return text
}

export function parseRedisUrl(text: string): string {
  let url: URL
  try { url = new URL(text) } catch { bad(`--redis "${text}" is not a URL (want redis://HOST:PORT or rediss://HOST:PORT)`) }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') bad(`--redis "${url.protocol}" URLs are not supported: use redis:// or rediss://`)
  if (!url.hostname) bad('--redis URL names no host (want redis://HOST:PORT)')
  return text
}

/** `--registry file:PATH` (or a Redis URL, which is what --redis says too). */
export function parseRegistrySpec(text: string): string {
  if (text.startsWith('redis://') || text.startsWith('rediss://')) return parseRedisUrl(text)
  if (!text.startsWith('file:') || text.length <= 'file:'.length) bad(`--registry "${text}" must be file:PATH (or use --redis URL)`)
  return text
}

export type OutputFormat = 'table' | 'json' | 'yaml'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml']

export function parseOutputFormat(text: string): OutputFormat {
  if (!OUTPUT_FORMATS.includes(text as OutputFormat)) bad(`-o "${text}" must be one of ${OUTPUT_FORMATS.join(', ')}`)
  return text as OutputFormat
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function parseLogLevel(text: string): string {
  if (!LOG_LEVELS.includes(text)) bad(`--log-level "${text}" must be one of ${LOG_LEVELS.join(', ')}`)
  return text
}
