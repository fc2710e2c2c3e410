/**
 * Authorization policies on the agent API's wire. Proto3 cannot tell an absent list from an
 * empty one; registry records never hold empty lists (absent means "any"), so an empty
 * repeated field is an absent one, both ways.
 */
import { NmError } from '../../registry/errors'
import type { AuthorizationPolicy, PolicyAction } from '../../registry/records'
import type { Snapshot } from '../../registry/snapshot'
import { dropUndefined } from '../../registry/validate-fields'

export interface WirePolicy {
  readonly name: string
  readonly target: string
  readonly action: string
  readonly from?: { readonly identities?: readonly string[]; readonly namespaces?: readonly string[]; readonly services?: readonly string[] } | null
  readonly to?: { readonly ports?: readonly number[]; readonly methods?: readonly string[]; readonly paths?: readonly string[] } | null
}

function list<T>(v: readonly T[] | undefined): T[] | undefined {
  return v && v.length > 0 ? [...v] : undefined
}

/** A policy as decoded from the wire; the store validates it before writing. */
export function policyFromWire(w: WirePolicy): AuthorizationPolicy {
  if (w.action !== 'ALLOW' && w.action !== 'DENY') {
    throw new NmError('NM_BAD_ARGUMENT', `policy action "${w.action}" must be ALLOW or DENY`)
  }
  const from = w.from ?? {}
  const to = w.to ?? {}
  return {
    name: w.name,
    target: w.target,
    action: w.action as PolicyAction,
    from: dropUndefined({ identities: list(from.identities), namespaces: list(from.namespaces), services: list(from.services) }),
    to: dropUndefined({ ports: list(to.ports), methods: list(to.methods), paths: list(to.paths) }),
  }
}

export function policyToWire(p: AuthorizationPolicy): WirePolicy {
  return {
    name: p.name,
    target: p.target,
    action: p.action,
    from: { identities: p.from.identities ?? [], namespaces: p.from.namespaces ?? [], services: p.from.services ?? [] },
    to: { ports: p.to.ports ?? [], methods: p.to.methods ?? [], paths: p.to.paths ?? [] },
  }
}

/** Policies sorted by name. */
export function selectPolicies(snapshot: Snapshot): AuthorizationPolicy[] {
  return [...snapshot.policies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** NM_NOT_FOUND naming how to see what exists. */
export function policyNotFound(name: string): NmError {
  return new NmError('NM_NOT_FOUND', `policy ${name} does not exist: list policies with \`nodemesh policies\``)
}
