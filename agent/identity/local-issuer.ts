/**
 * The CA in the agent's own process (`nodemesh agent --ca-dir DIR`), for a single host with no
 * network CA. The same checks as `ca serve`: a workload identity needs an endpoint on this node.
 */
import { createIssuer } from '../../ca/issuer'
import type { RegistryLookup } from '../../ca/registry-lookup'
import type { Logger } from '../observe/logger'
import type { WorkloadIssuer } from './workload-issuer'

export interface LocalIssuerOptions {
  readonly caDir: string
  readonly node: string
  /** The registry view to check against; the agent can pass its current snapshot. */
  readonly lookup: RegistryLookup
  readonly log?: Logger
  readonly workloadTtlMs?: number
  readonly nodeTtlMs?: number
}

export function localIssuer(opts: LocalIssuerOptions): WorkloadIssuer {
  const issuer = createIssuer({
    caDir: opts.caDir, lookup: opts.lookup,
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.workloadTtlMs !== undefined ? { workloadTtlMs: opts.workloadTtlMs } : {}),
    ...(opts.nodeTtlMs !== undefined ? { nodeTtlMs: opts.nodeTtlMs } : {}),
  })
  return {
    trustDomain: issuer.trustDomain,
    signWorkload: (csrPem, identity) => issuer.signWorkload(opts.node, csrPem, identity),
    signNode: async (csrPem) => issuer.signNode(opts.node, csrPem),
  }
}
