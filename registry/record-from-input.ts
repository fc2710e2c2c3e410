/**
 * The records a store writes for createService and registerEndpoint, built the same way by
 * every store from an input that validate-input.ts has already accepted.
 */
import { randomBytes } from 'node:crypto'
import type { Endpoint, Service } from './records'
import type { CreateServiceInput, RegisterEndpointInput } from './store'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** `ep-` and 10 random base32 characters (50 bits). */
export function newEndpointId(): string {
  return `ep-${[...randomBytes(10)].map((b) => BASE32[b & 31]).join('')}`
}

/** The service record without its VIP, which the store allocates. */
export function serviceFromInput(input: CreateServiceInput, createdAt: string): Omit<Service, 'vip'> {
  return {
    name: input.name,
    namespace: input.namespace,
    ports: input.ports.map((p) => ({ name: p.name ?? `${p.protocol}-${p.port}`, port: p.port, protocol: p.protocol })),
    serviceAccount: input.serviceAccount ?? input.name,
    createdAt,
  }
}

/** Defaults filled as a reader would fill them; a static endpoint has no lease field at all. */
export function endpointFromInput(input: RegisterEndpointInput, id: string, createdAt: string): Endpoint {
  return {
    id, service: input.service, node: input.node, address: input.address, ports: { ...input.ports },
    weight: input.weight ?? 1, labels: { ...(input.labels ?? {}) }, health: input.health ?? 'healthy',
    ...(input.lease !== undefined ? { lease: input.lease } : {}), createdAt,
  }
}
