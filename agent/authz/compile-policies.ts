/**
 * Compiles the snapshot's authorization policies once per snapshot into per-destination sets,
 * so evaluating a connection or request is one map lookup and a check of the few policies that
 * apply. Pure: same policies in, same index out.
 */
import type { AuthorizationPolicy, PolicyAction } from '../../registry/records'

/** `*`, `prefix*`, `*suffix` or an exact string: the forms Istio accepts for principals and paths. */
export type StringPattern =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }

export interface StringMatcher {
  readonly any: boolean
  readonly exact: ReadonlySet<string>
  readonly prefixes: readonly string[]
  readonly suffixes: readonly string[]
}

export interface CompiledPolicy {
  readonly name: string
  readonly action: PolicyAction
  /** Absent fields match anything; a present field must match (OR within it, AND across). */
  readonly identities?: StringMatcher
  readonly namespaces?: StringMatcher
  readonly services?: ReadonlySet<string>
  readonly ports?: ReadonlySet<number>
  readonly methods?: ReadonlySet<string>
  readonly paths?: StringMatcher
}

/** The policies that apply to one destination: its own and the mesh-wide ones, sorted by name. */
export interface PolicySet {
  readonly deny: readonly CompiledPolicy[]
  readonly allow: readonly CompiledPolicy[]
}

export interface CompiledPolicies {
  /** Per target service key; destinations without policies of their own use `meshWide`. */
  readonly byTarget: ReadonlyMap<string, PolicySet>
  readonly meshWide: PolicySet
}

export const MESH_WIDE = '*'

export function parsePattern(s: string): StringPattern {
  if (s === '*') return { kind: 'any' }
  if (s.length > 1 && s.endsWith('*')) return { kind: 'prefix', value: s.slice(0, -1) }
  if (s.length > 1 && s.startsWith('*')) return { kind: 'suffix', value: s.slice(1) }
  return { kind: 'exact', value: s }
}

export function compileMatcher(patterns: readonly string[]): StringMatcher {
  const exact = new Set<string>()
  const prefixes: string[] = []
  const suffixes: string[] = []
  let any = false
  for (const p of patterns.map(parsePattern)) {
    if (p.kind === 'any') any = true
    else if (p.kind === 'exact') exact.add(p.value)
    else if (p.kind === 'prefix') prefixes.push(p.value)
    else suffixes.push(p.value)
  }
  return { any, exact, prefixes, suffixes }
}

export function matches(m: StringMatcher, value: string): boolean {
  return m.any || m.exact.has(value) || m.prefixes.some((p) => value.startsWith(p)) || m.suffixes.some((s) => value.endsWith(s))
}

export function compilePolicy(p: AuthorizationPolicy): CompiledPolicy {
  const { identities, namespaces, services } = p.from
  const { ports, methods, paths } = p.to
  return {
    name: p.name,
    action: p.action,
    ...(identities ? { identities: compileMatcher(identities) } : {}),
    ...(namespaces ? { namespaces: compileMatcher(namespaces) } : {}),
    ...(services ? { services: new Set(services) } : {}),
    ...(ports ? { ports: new Set(ports) } : {}),
    ...(methods ? { methods: new Set(methods) } : {}),
    ...(paths ? { paths: compileMatcher(paths) } : {}),
  }
}

const byName = (a: CompiledPolicy, b: CompiledPolicy): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

function toSet(list: readonly CompiledPolicy[]): PolicySet {
  return {
    deny: list.filter((p) => p.action === 'DENY').sort(byName),
    allow: list.filter((p) => p.action === 'ALLOW').sort(byName),
  }
}

export function compilePolicies(policies: ReadonlyMap<string, AuthorizationPolicy>): CompiledPolicies {
  const meshWide: CompiledPolicy[] = []
  const perTarget = new Map<string, CompiledPolicy[]>()
  for (const p of policies.values()) {
    const compiled = compilePolicy(p)
    if (p.target === MESH_WIDE) meshWide.push(compiled)
    else perTarget.set(p.target, [...(perTarget.get(p.target) ?? []), compiled])
  }
  const byTarget = new Map<string, PolicySet>()
  for (const [target, own] of perTarget) byTarget.set(target, toSet([...own, ...meshWide]))
  return { byTarget, meshWide: toSet(meshWide) }
}

/** The policies that apply to `destination` (a service key). */
export function policiesFor(compiled: CompiledPolicies, destination: string): PolicySet {
  return compiled.byTarget.get(destination) ?? compiled.meshWide
}
