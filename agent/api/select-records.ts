/**
 * What the list calls return, decided from a Snapshot: the agent API and the CLI's direct
 * Redis backend share these so both answer the same way.
 */
import { NmError } from '../../registry/errors'
import type { Endpoint, Service } from '../../registry/records'
import type { Snapshot } from '../../registry/snapshot'

/** Services sorted by namespace then name; only `namespace` when given. */
export function selectServices(snapshot: Snapshot, namespace?: string): Service[] {
  return [...snapshot.services.values()]
    .filter((s) => !namespace || s.namespace === namespace)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
}

/** The service at `key`, or NM_NOT_FOUND naming how to see what exists. */
export function requireService(snapshot: Snapshot, key: string): Service {
  const svc = snapshot.services.get(key)
  if (!svc) throw new NmError('NM_NOT_FOUND', `service ${key} does not exist: list services with \`nodemesh services\``)
  return svc
}

/** Endpoints of one service sorted by node, address, id; NM_NOT_FOUND when the service is unknown. */
export function selectEndpoints(snapshot: Snapshot, key: string): Endpoint[] {
  requireService(snapshot, key)
  return [...snapshot.endpoints.values()]
    .filter((e) => e.service === key)
    .sort((a, b) => a.node.localeCompare(b.node) || a.address.localeCompare(b.address) || a.id.localeCompare(b.id))
}

/** The endpoint `id` of service `key`, or NM_NOT_FOUND. */
export function requireEndpoint(snapshot: Snapshot, key: string, id: string): Endpoint {
  const ep = snapshot.endpoints.get(id)
  if (!ep || ep.service !== key) {
    throw new NmError('NM_NOT_FOUND', `service ${key} has no endpoint ${id}: list them with \`nodemesh endpoints ${key}\``)
  }
  return ep
}
