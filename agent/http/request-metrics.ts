/**
 * Per-request metrics and access log. Metric children (`labels(...)`) are cached per
 * (service, response code), so the hot path does a two-level map lookup instead of building a
 * label object per request.
 */
import type { Counter, Histogram } from 'prom-client'
import type { Logger } from '../observe/logger'
import type { Metrics } from '../observe/metrics'
import type { CompiledPort } from '../routing/routing-table'

interface Children {
  readonly count: Counter.Internal
  readonly duration: Histogram.Internal<string>
}

interface ServiceEntry {
  readonly domain: string
  readonly label: string
  readonly byCode: Map<number, Children>
}

export interface AccessRecord {
  readonly method: string | undefined
  readonly path: string | undefined
  readonly status: number
  readonly port: CompiledPort | undefined
  readonly endpoint: string | undefined
  readonly durationMs: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly client: string
}

export class RequestMetrics {
  private readonly metrics: Metrics
  private readonly log: Logger
  private readonly services = new Map<string, ServiceEntry>()

  constructor(metrics: Metrics, log: Logger) {
    this.metrics = metrics
    this.log = log
  }

  /** Counts the request, observes its duration and writes one access-log record. */
  record(r: AccessRecord, dnsDomain: string): void {
    const c = this.children(r.port, dnsDomain, r.status)
    c.count.inc()
    c.duration.observe(r.durationMs / 1000)
    this.log.info({
      type: 'access', method: r.method, path: r.path, status: r.status, service: r.port?.service,
      endpoint: r.endpoint, duration_ms: Math.round(r.durationMs * 1000) / 1000, bytes_in: r.bytesIn,
      bytes_out: r.bytesOut, client: r.client,
    })
  }

  private children(port: CompiledPort | undefined, dnsDomain: string, status: number): Children {
    const key = port?.service ?? ''
    let entry = this.services.get(key)
    if (entry === undefined || entry.domain !== dnsDomain) {
      const label = port === undefined ? 'unknown' : `${port.serviceName}.${port.namespace}.${dnsDomain}`
      entry = { domain: dnsDomain, label, byCode: new Map() }
      this.services.set(key, entry)
    }
    let c = entry.byCode.get(status)
    if (c === undefined) {
      const labels = {
        reporter: 'source', source_workload: 'unknown', source_principal: 'unknown',
        destination_service: entry.label, destination_principal: 'unknown',
        response_code: String(status), request_protocol: 'http',
      }
      c = { count: this.metrics.requests.labels(labels), duration: this.metrics.requestDuration.labels(labels) }
      entry.byCode.set(status, c)
    }
    return c
  }
}
