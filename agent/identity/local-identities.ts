/**
 * The workload identities this node needs certificates for: those of the services that have
 * an endpoint here, healthy or not (a workload is who it is whatever its health). Pure.
 */
import type { Snapshot } from '../../registry/snapshot'
import { workloadId } from './spiffe'

export function localIdentities(snapshot: Snapshot, node: string): string[] {
  const out = new Set<string>()
  for (const ep of snapshot.endpoints.values()) {
    if (ep.node !== node) continue
    const svc = snapshot.services.get(ep.service)
    if (svc) out.add(workloadId(snapshot.mesh.trustDomain, svc.namespace, svc.serviceAccount))
  }
  return [...out].sort()
}
