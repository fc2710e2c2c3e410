/**
 * Renders command results as text: an aligned table for people, JSON or YAML with stable
 * field names for scripts. Pure: returns the text to print.
 */
import type { Endpoint, MeshConfig, Service, ServicePort } from '../registry/records'
import type { AgentStatus } from '../agent/api/agent-status'
import type { OutputFormat } from './parse-flag-values'

/** Columns padded to the widest cell, two spaces apart, no trailing blanks. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

/** JSON (indented) or YAML of `value`, for scripts. */
export function machine(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n'
  // yaml is only needed for -o yaml; loading it lazily keeps other commands quick to start.
  const YAML = require('yaml') as typeof import('yaml')
  return YAML.stringify(value)
}

/** `80/http`, or `grpc=9090/grpc` when the port has a name other than the default. */
export function formatServicePort(p: ServicePort): string {
  const plain = `${p.port}/${p.protocol}`
  return p.name === `${p.protocol}-${p.port}` ? plain : `${p.name}=${plain}`
}

export function serviceView(s: Service) {
  return {
    name: s.name, namespace: s.namespace, vip: s.vip,
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    serviceAccount: s.serviceAccount, createdAt: s.createdAt,
  }
}

/** A static endpoint shows `lease: null`, so the field is always there for scripts. */
export function endpointView(e: Endpoint) {
  return {
    id: e.id, service: e.service, node: e.node, address: e.address, ports: { ...e.ports },
    weight: e.weight, labels: { ...e.labels }, health: e.health, lease: e.lease ?? null, createdAt: e.createdAt,
  }
}

export function renderServices(services: readonly Service[], format: OutputFormat): string {
  if (format !== 'table') return machine(services.map(serviceView), format)
  return formatTable(['NAME', 'NAMESPACE', 'VIP', 'PORTS', 'SERVICE ACCOUNT'],
    services.map((s) => [s.name, s.namespace, s.vip, s.ports.map(formatServicePort).join(','), s.serviceAccount]))
}

export function renderEndpoints(endpoints: readonly Endpoint[], format: OutputFormat): string {
  if (format !== 'table') return machine(endpoints.map(endpointView), format)
  return formatTable(['ID', 'NODE', 'ADDRESS', 'PORTS', 'WEIGHT', 'HEALTH', 'LEASE', 'LABELS'],
    endpoints.map((e) => [
      e.id, e.node, e.address,
      Object.entries(e.ports).map(([sp, t]) => `${sp}->${t}`).join(','),
      String(e.weight), e.health, e.lease ?? '(static)',
      Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).join(','),
    ]))
}

function renderFields(fields: readonly (readonly [string, string])[]): string {
  return formatTable(['FIELD', 'VALUE'], fields)
}

export function renderMesh(mesh: MeshConfig, format: OutputFormat): string {
  const view = { vipCidr: mesh.vipCidr, trustDomain: mesh.trustDomain, defaultDeny: mesh.defaultDeny }
  if (format !== 'table') return machine(view, format)
  return renderFields([['vip-cidr', mesh.vipCidr], ['trust-domain', mesh.trustDomain], ['default-deny', String(mesh.defaultDeny)]])
}

export function renderStatus(s: AgentStatus, format: OutputFormat): string {
  const view = {
    node: s.node, registry: s.registry, revision: s.revision, connected: s.connected,
    stalenessSeconds: s.stalenessSeconds, listeners: s.listeners, version: s.version,
  }
  if (format !== 'table') return machine(view, format)
  return renderFields([
    ['node', s.node], ['registry', s.registry], ['connected', String(s.connected)], ['revision', String(s.revision)],
    ['staleness', `${s.stalenessSeconds.toFixed(1)}s`], ['listeners', String(s.listeners)], ['version', s.version],
  ])
}
