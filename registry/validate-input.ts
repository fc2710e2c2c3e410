/**
 * Checks every write before a store commits it, shared by every store so that both refuse the
 * same inputs with the same codes and messages. Field rules are the read-side ones
 * (validate-record.ts), so nothing is written that a reader would then reject.
 */
import { NmError } from './errors'
import { isValidNodeName, serviceKey } from './names'
import type { MeshConfig, Service } from './records'
import type { CreateServiceInput, PutableKind, PutableRecord, RegisterEndpointInput } from './store'
import {
  dnsLabel, dnsSubdomain, dropUndefined, endpointId, fail, guard, int, ip, labelKey, nodeName, oneOf, show, strMap,
} from './validate-fields'
import { checkMesh, endpointPorts, parseMeshConfig, parseRecord, servicePorts } from './validate-record'

/** The longest lease a heartbeat may ask for. */
export const MAX_LEASE_TTL_MS = 24 * 3600_000

function orThrow<T>(code: 'NM_BAD_ARGUMENT' | 'NM_BAD_RECORD', what: string, run: () => T): T {
  const r = guard(run)
  if (!r.ok) throw new NmError(code, `${what}: ${r.reason}; fix the field and retry`)
  return r.value
}

/** Checks a partial mesh config before initMesh merges it; returns the merged, validated config. */
export function validateMeshInput(current: MeshConfig, input: Partial<MeshConfig>): MeshConfig {
  return orThrow('NM_BAD_ARGUMENT', 'mesh config', () => checkMesh({ ...current, ...dropUndefined(input) }))
}

export function validateCreateService(input: CreateServiceInput): void {
  orThrow('NM_BAD_ARGUMENT', `service ${String(input.namespace)}/${String(input.name)}`, () => {
    dnsLabel(input.name, 'name')
    dnsLabel(input.namespace, 'namespace')
    servicePorts(input.ports, 'ports')
    if (input.serviceAccount !== undefined) dnsSubdomain(input.serviceAccount, 'serviceAccount')
  })
}

export function validateRegisterEndpoint(input: RegisterEndpointInput, service: Service): void {
  const key = serviceKey(service.namespace, service.name)
  orThrow('NM_BAD_ARGUMENT', `endpoint of ${key}`, () => {
    if (input.id !== undefined) endpointId(input.id, 'id')
    if (input.service !== key) fail('service', `must be ${key}, got ${show(input.service)}`)
    nodeName(input.node, 'node')
    ip(input.address, 'address')
    endpointPorts(input.ports, 'ports')
    if (input.weight !== undefined) int(input.weight, 'weight', 1, 1000)
    if (input.labels !== undefined) strMap(input.labels, 'labels', labelKey, 63)
    if (input.health !== undefined) oneOf(input.health, 'health', ['healthy', 'unhealthy'] as const)
    if (input.lease !== undefined) nodeName(input.lease, 'lease')
  })
  const declared = service.ports.map((p) => String(p.port))
  const extra = Object.keys(input.ports).filter((k) => !declared.includes(k))
  if (extra.length > 0) {
    throw new NmError('NM_BAD_RECORD', `endpoint of ${key}: ports ${extra.join(', ')} are not ports of the service (it has ${declared.join(', ')})`)
  }
  const missing = declared.filter((k) => !(k in input.ports))
  if (missing.length > 0) {
    throw new NmError('NM_BAD_RECORD', `endpoint of ${key}: every service port needs a target port; missing ${missing.join(', ')}`)
  }
}

/** Validates a record before it is written; returns it as it will be read back (defaults filled). */
export function validatePutRecord<K extends PutableKind>(kind: K, record: PutableRecord[K]): PutableRecord[K] {
  const r = parseRecord(kind, JSON.stringify(record ?? null))
  if (!r.ok) throw new NmError('NM_BAD_RECORD', `${kind} record: ${r.reason}; fix the field and retry`)
  return r.value as PutableRecord[K]
}

export function validateHeartbeat(node: string, ttlMs: number): void {
  if (typeof node !== 'string' || !isValidNodeName(node)) {
    throw new NmError('NM_BAD_ARGUMENT', `node name ${JSON.stringify(node)} must be a host name (letters, digits, '.', '-', '_')`)
  }
  if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_LEASE_TTL_MS) {
    throw new NmError('NM_BAD_ARGUMENT', `lease TTL must be 1..${MAX_LEASE_TTL_MS} ms, got ${ttlMs}`)
  }
}

/**
 * The stored mesh config a write builds on (`where` names the store). Unlike a reader, which
 * falls back to the defaults, a write must not allocate from a range nobody agreed on.
 */
export function requireStoredMesh(raw: string | undefined, where: string): MeshConfig {
  const r = parseMeshConfig(raw)
  if (!r.ok) throw new NmError('NM_BAD_RECORD', `the mesh config in ${where} is invalid (${r.reason}); set it again with mesh init`)
  return r.value
}

/** The stored service an endpoint is registered against; a bad one cannot be checked against. */
export function requireStoredService(key: string, raw: string): Service {
  const r = parseRecord('service', raw)
  if (!r.ok) throw new NmError('NM_BAD_RECORD', `service ${key} is stored invalid (${r.reason}); delete and recreate it`)
  return r.value
}
