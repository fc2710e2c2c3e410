/**
 * The agent's Prometheus metrics (prom-client, own registry, `nodemesh_` prefix, Istio-style
 * labels). The data plane receives this object and only calls inc/observe on the hot path.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

const REQUEST_LABELS = [
  'reporter', 'source_workload', 'source_principal', 'destination_service',
  'destination_principal', 'response_code', 'request_protocol',
] as const
const TCP_LABELS = ['reporter', 'source_workload', 'source_principal', 'destination_service', 'destination_principal'] as const

export interface Metrics {
  readonly registry: Registry
  readonly requests: Counter<(typeof REQUEST_LABELS)[number]>
  readonly requestDuration: Histogram<(typeof REQUEST_LABELS)[number]>
  readonly tcpSent: Counter<(typeof TCP_LABELS)[number]>
  readonly tcpReceived: Counter<(typeof TCP_LABELS)[number]>
  readonly tcpOpened: Counter<(typeof TCP_LABELS)[number]>
  readonly tcpClosed: Counter<(typeof TCP_LABELS)[number]>
  readonly dnsQueries: Counter<'type' | 'outcome'>
  readonly registryRevision: Gauge
  readonly registryStaleness: Gauge
  readonly registryConnected: Gauge
  readonly rejectedRecords: Counter<'kind'>
  readonly listeners: Gauge
  readonly connectionsRefused: Counter<'reason'>
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'nodemesh_process_' })
  const r = [registry]
  return {
    registry,
    requests: new Counter({ name: 'nodemesh_requests_total', help: 'L7 requests proxied', labelNames: REQUEST_LABELS, registers: r }),
    requestDuration: new Histogram({
      name: 'nodemesh_request_duration_seconds', help: 'L7 request duration, first request byte to last response byte',
      labelNames: REQUEST_LABELS, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    tcpSent: new Counter({ name: 'nodemesh_tcp_sent_bytes_total', help: 'Bytes sent to the client on L4 connections', labelNames: TCP_LABELS, registers: r }),
    tcpReceived: new Counter({ name: 'nodemesh_tcp_received_bytes_total', help: 'Bytes received from the client on L4 connections', labelNames: TCP_LABELS, registers: r }),
    tcpOpened: new Counter({ name: 'nodemesh_tcp_connections_opened_total', help: 'L4 connections opened', labelNames: TCP_LABELS, registers: r }),
    tcpClosed: new Counter({ name: 'nodemesh_tcp_connections_closed_total', help: 'L4 connections closed', labelNames: TCP_LABELS, registers: r }),
    dnsQueries: new Counter({ name: 'nodemesh_dns_queries_total', help: 'DNS queries answered', labelNames: ['type', 'outcome'], registers: r }),
    registryRevision: new Gauge({ name: 'nodemesh_registry_revision', help: 'Registry revision of the snapshot in use', registers: r }),
    registryStaleness: new Gauge({
      name: 'nodemesh_registry_staleness_seconds', help: 'Seconds since the snapshot in use was last known to match the registry',
      registers: r,
    }),
    registryConnected: new Gauge({ name: 'nodemesh_registry_connected', help: '1 while the registry is reachable', registers: r }),
    rejectedRecords: new Counter({ name: 'nodemesh_registry_rejected_records_total', help: 'Registry records rejected by validation', labelNames: ['kind'], registers: r }),
    listeners: new Gauge({ name: 'nodemesh_listeners', help: 'Bind-mode service listeners open', registers: r }),
    connectionsRefused: new Counter({
      name: 'nodemesh_connections_refused_total', help: 'Connections reset on arrival: no service at the destination, or (capture) an unknown original destination',
      labelNames: ['reason'], registers: r,
    }),
  }
}
