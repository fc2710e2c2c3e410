/**
 * `nodemesh policy allow|deny` flags to an AuthorizationPolicy record. Pure: every value is
 * checked here, before the registry is touched, and a bad one is one NM_BAD_ARGUMENT line.
 */
import { createHash } from 'node:crypto'
import { normalizeRequestPath } from '../agent/authz/normalize-path'
import { parseSpiffeId } from '../agent/identity/spiffe'
import { NmError } from '../registry/errors'
import { DEFAULT_NAMESPACE, isValidName, serviceKeyOf } from '../registry/names'
import type { AuthorizationPolicy, PolicyAction } from '../registry/records'
import { dropUndefined } from '../registry/validate-fields'
import { parsePortFlag } from './parse-flag-values'

export interface PolicyFlags {
  readonly to?: string
  readonly from: readonly string[]
  readonly fromNamespace: readonly string[]
  readonly fromIdentity: readonly string[]
  readonly port: readonly string[]
  readonly method: readonly string[]
  readonly path: readonly string[]
  readonly name?: string
}

function bad(message: string): never {
  throw new NmError('NM_BAD_ARGUMENT', message)
}

const sorted = <T>(xs: readonly T[], cmp?: (a: T, b: T) => number): T[] => [...new Set(xs)].sort(cmp)

export function parseTarget(text: string | undefined, verb: string): string {
  if (text === undefined) bad(`policy ${verb} needs --to SERVICE (or --to '*' for every service)`)
  return text === '*' ? '*' : serviceKeyOf(text)
}

export function parseNamespaceFlag(text: string): string {
  if (text !== '*' && !isValidName(text)) bad(`--from-namespace "${text}" must be a namespace (a DNS label) or '*'`)
  return text
}

/** A workload or node SPIFFE ID, `*`, a `spiffe://...*` prefix or a `*...` suffix pattern. */
export function parseIdentityFlag(text: string): string {
  if (parseSpiffeId(text) !== undefined || text === '*') return text
  const core = text.startsWith('*') ? text.slice(1) : text.endsWith('*') ? text.slice(0, -1) : undefined
  const prefixOk = text.endsWith('*') && text.startsWith('spiffe://')
  if (core && !core.includes('*') && !/[\s\u0000-\u001f\u007f]/.test(core) && (prefixOk || text.startsWith('*'))) return text
  bad(`--from-identity "${text}" must be spiffe://TD/ns/NS/sa/SA, spiffe://TD/node/NODE, '*', a prefix such as spiffe://TD/ns/NS/* or a suffix such as */sa/SA`)
}

const METHOD = /^[A-Z][A-Z0-9_-]{0,31}$/

export function parseMethodFlag(text: string): string {
  const upper = text.toUpperCase()
  if (!METHOD.test(upper)) bad(`--method "${text}" must be an HTTP method such as GET or POST`)
  return upper
}

/**
 * Exact `/a`, prefix `/a/*`, suffix `*.png` or `*`. Requests are matched after normalization,
 * so a rule that is not itself normalized (`/a//b`, `/a/../b`, `/a?x`) could never match.
 */
export function parsePathFlag(text: string): string {
  if (text === '*') return text
  const suffix = text.startsWith('*')
  const core = suffix ? text.slice(1) : text.endsWith('*') ? text.slice(0, -1) : text
  if ((!suffix && !text.startsWith('/')) || core.includes('*') || core === '') {
    bad(`--path "${text}" must be an exact path /a, a prefix /a/*, a suffix *.png or *`)
  }
  // A suffix is checked as the end of some path.
  const probe = suffix ? `/x${core}` : core
  const n = normalizeRequestPath(probe)
  if (!n.ok) bad(`--path "${text}": ${n.reason.replace(/^the request (target|path) /, '')}`)
  if (n.path !== probe) {
    const fixed = suffix ? `*${n.path.slice(2)}` : `${n.path}${text.endsWith('*') ? '*' : ''}`
    bad(`--path "${text}" would never match: requests are matched in normalized form; write it as "${fixed}"`)
  }
  return text
}

function shortName(key: string): string {
  if (key === '*') return 'all'
  const [ns, name] = key.split('/') as [string, string]
  return ns === DEFAULT_NAMESPACE ? name : `${name}-${ns}`
}

/**
 * A readable, stable name: the same rule always gets the same name (so re-running a command
 * is harmless) and two different rules never share one (the hash of the rule's content).
 */
export function derivePolicyName(p: Omit<AuthorizationPolicy, 'name'>): string {
  const { services, namespaces, identities } = p.from
  let from = ''
  if (services) from = `-from-${shortName(services[0] as string)}`
  else if (namespaces) from = `-from-ns-${namespaces[0] === '*' ? 'any' : namespaces[0]}`
  else if (identities) {
    const id = parseSpiffeId(identities[0] as string)
    from = `-from-${id?.kind === 'workload' ? id.serviceAccount.toLowerCase().replace(/[^a-z0-9-]/g, '-') : 'identity'}`
  }
  const strs = (xs?: readonly string[]) => (xs ? sorted(xs) : null)
  const canonical = JSON.stringify([
    p.action, p.target, strs(p.from.identities), strs(p.from.namespaces), strs(p.from.services),
    p.to.ports ? sorted(p.to.ports, (a, b) => a - b) : null, strs(p.to.methods), strs(p.to.paths),
  ])
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 6)
  const base = `${p.action.toLowerCase()}-${shortName(p.target)}${from}`.slice(0, 63 - 7).replace(/-+$/, '')
  return `${base}-${hash}`
}

export function buildPolicy(action: PolicyAction, flags: PolicyFlags): AuthorizationPolicy {
  const verb = action.toLowerCase()
  const target = parseTarget(flags.to, verb)
  const list = <T>(xs: T[]): T[] | undefined => (xs.length > 0 ? xs : undefined)
  const from = {
    identities: list(sorted(flags.fromIdentity.map(parseIdentityFlag))),
    namespaces: list(sorted(flags.fromNamespace.map(parseNamespaceFlag))),
    services: list(sorted(flags.from.map(serviceKeyOf))),
  }
  const to = {
    ports: list(sorted(flags.port.map((p) => parsePortFlag(p, '--port')), (a, b) => a - b)),
    methods: list(sorted(flags.method.map(parseMethodFlag))),
    paths: list(sorted(flags.path.map(parsePathFlag))),
  }
  const rule: Omit<AuthorizationPolicy, 'name'> = { target, action, from: dropUndefined(from), to: dropUndefined(to) }
  if (flags.name !== undefined && !isValidName(flags.name)) bad(`--name "${flags.name}" must be a DNS label (lowercase letters, digits, '-', at most 63)`)
  return { name: flags.name ?? derivePolicyName(rule), ...rule }
}
