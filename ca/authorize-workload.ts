/**
 * Whether a node may hold a workload identity: only when the registry has an endpoint on
 * that node of a service in the identity's namespace that runs as its service account. So a
 * compromised node can obtain its own workloads' identities, never the rest of the mesh's.
 */
import { parseSpiffeId } from '../agent/identity/spiffe'
import type { Snapshot } from '../registry/snapshot'

export type WorkloadDecision = { readonly ok: true } | { readonly ok: false; readonly reason: string }

export function decideWorkloadCert(snapshot: Snapshot, node: string, identity: string, trustDomain: string): WorkloadDecision {
  const id = parseSpiffeId(identity)
  if (!id || id.kind !== 'workload') {
    return { ok: false, reason: `"${identity}" is not a workload identity (want spiffe://${trustDomain}/ns/NAMESPACE/sa/SERVICE_ACCOUNT)` }
  }
  if (id.trustDomain !== trustDomain) {
    return { ok: false, reason: `"${identity}" is in trust domain ${id.trustDomain}, but this CA signs for ${trustDomain}` }
  }
  for (const ep of snapshot.endpoints.values()) {
    if (ep.node !== node) continue
    const svc = snapshot.services.get(ep.service)
    if (svc && svc.namespace === id.namespace && svc.serviceAccount === id.serviceAccount) return { ok: true }
  }
  return {
    ok: false,
    reason: `node ${node} has no endpoint of a service in namespace ${id.namespace} with service account ${id.serviceAccount}: register the workload on that node first`,
  }
}
