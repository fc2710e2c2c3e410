/**
 * Renders authorization policies: a table for people (an absent field shows as `*`, "any"),
 * JSON or YAML of the records for scripts (absent fields left out, as in the registry).
 */
import type { AuthorizationPolicy } from '../registry/records'
import { formatTable, machine } from './format-output'
import type { OutputFormat } from './parse-flag-values'

function fields(parts: ReadonlyArray<readonly [string, readonly (string | number)[] | undefined]>): string {
  const set = parts.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${(v as readonly (string | number)[]).join(',')}`)
  return set.length === 0 ? '*' : set.join(' ')
}

export function policyView(p: AuthorizationPolicy): AuthorizationPolicy {
  return { name: p.name, target: p.target, action: p.action, from: { ...p.from }, to: { ...p.to } }
}

export function renderPolicies(policies: readonly AuthorizationPolicy[], format: OutputFormat): string {
  if (format !== 'table') return machine(policies.map(policyView), format)
  return formatTable(['NAME', 'ACTION', 'TARGET', 'FROM', 'TO'], policies.map((p) => [
    p.name, p.action, p.target,
    fields([['services', p.from.services], ['namespaces', p.from.namespaces], ['identities', p.from.identities]]),
    fields([['ports', p.to.ports], ['methods', p.to.methods], ['paths', p.to.paths]]),
  ]))
}
