/**
 * Per-request metrics and access log. prom-client validates and hashes the seven labels on
 * every inc/observe (about 2 µs a request), so requests are counted here, in plain numbers per
 * (service, response code), and handed to prom-client when it is scraped: its `collect` hook
 * runs first on every read of the metric.
 */
import type { Counter, Histogram } from 'prom-client'
import type { Logger } from '../observe/logger'
import type { Metrics } from '../observe/metrics'
import type { CompiledPort } from '../routing/routing-table'

type Labels = Record<string, string>

/** prom-client's stored state of one histogram series (set up by `zero`, read on scrape). */
interface HistogramEntry {
  labels: Labels
  bucketValues: Record<string, number>
  sum: number
  count: number
}

class Series {
  readonly labels: Labels
  /** Counts and duration sums not yet handed to prom-client. */
  count = 0
  sum = 0
  /** Not-yet-handed counts per bucket (index of the first upper bound >= the value; last = +Inf only). */
  readonly buckets: Float64Array

  constructor(labels: Labels, nBounds: number) {
    this.labels = labels
    this.buckets = new Float64Array(nBounds + 1)
  }
}

interface ServiceEntry {
  readonly domain: string
  readonly label: string
  readonly byCode: Map<number, Series>
}

export class RequestMetrics {
  private readonly metrics: Metrics
  private readonly log: Logger
  private readonly services = new Map<string, ServiceEntry>()
  private readonly series: Series[] = []
  private readonly bounds: readonly number[]

  constructor(metrics: Metrics, log: Logger) {
    this.metrics = metrics
    this.log = log
    this.bounds = (metrics.requestDuration as unknown as { upperBounds?: readonly number[] }).upperBounds ?? []
    // Chained, so another user of the same metrics keeps its own hook.
    for (const m of [metrics.requests, metrics.requestDuration] as { collect?: () => unknown }[]) {
      const previous = m.collect
      m.collect = () => {
        this.flush()
        return previous?.call(m)
      }
    }
  }

  /** Counts the request, records its duration and writes one access-log record. */
  record(method: string | undefined, path: string | undefined, status: number, port: CompiledPort | undefined, endpoint: string | undefined,
    durationMs: number, bytesIn: number, bytesOut: number, client: string, dnsDomain: string,
    reporter: 'source' | 'destination', source: string | undefined): void {
    const s = this.seriesFor(port, dnsDomain, status)
    const seconds = durationMs / 1000
    s.count++
    s.sum += seconds
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]!) i++
    s.buckets[i]!++
    // Building the record costs more than the check, and access logs can be turned off (warn).
    if (this.log.isLevelEnabled('info')) {
      this.log.info({
        type: 'access', reporter, method, path, status, service: port?.service, endpoint, source, destination: port?.identity,
        duration_ms: Math.round(durationMs * 1000) / 1000, bytes_in: bytesIn, bytes_out: bytesOut, client,
      })
    }
  }

  /** Hands the pending counts to prom-client. */
  private flush(): void {
    const counter = this.metrics.requests as Counter<string>
    const histogram = this.metrics.requestDuration as Histogram<string>
    for (const s of this.series) {
      if (s.count === 0) continue
      counter.inc(s.labels, s.count)
      const entry = histogramEntry(histogram, s.labels)
      entry.count += s.count
      entry.sum += s.sum
      for (let i = 0; i < this.bounds.length; i++) {
        const n = s.buckets[i]!
        if (n > 0) entry.bucketValues[this.bounds[i]!] = (entry.bucketValues[this.bounds[i]!] ?? 0) + n
      }
      s.count = 0
      s.sum = 0
      s.buckets.fill(0)
    }
  }

  private seriesFor(port: CompiledPort | undefined, dnsDomain: string, status: number): Series {
    const key = port?.service ?? ''
    let entry = this.services.get(key)
    if (entry === undefined || entry.domain !== dnsDomain) {
      const label = port === undefined ? 'unknown' : `${port.serviceName}.${port.namespace}.${dnsDomain}`
      entry = { domain: dnsDomain, label, byCode: new Map() }
      this.services.set(key, entry)
    }
    let s = entry.byCode.get(status)
    if (s === undefined) {
      s = new Series({
        reporter: 'source', source_workload: 'unknown', source_principal: 'unknown',
        destination_service: entry.label, destination_principal: 'unknown',
        response_code: String(status), request_protocol: 'http',
      }, this.bounds.length)
      entry.byCode.set(status, s)
      this.series.push(s)
    }
    return s
  }
}

/**
 * prom-client's state for one histogram series, created at zero when missing (also after a
 * registry reset). prom-client has no call to add many observations at once; its series store
 * (`hashMap` of {labels, bucketValues, sum, count}) is what `observe` itself updates.
 */
function histogramEntry(h: Histogram<string>, labels: Labels): HistogramEntry {
  const store = (h as unknown as { hashMap: Record<string, HistogramEntry> }).hashMap
  for (const k in store) if (store[k]!.labels === labels) return store[k]!
  h.zero(labels)
  for (const k in store) if (store[k]!.labels === labels) return store[k]!
  // Only a prom-client with a different store gets here; the metrics tests catch that on upgrade.
  throw new Error('NM_INTERNAL: prom-client histogram store not found; check the prom-client version')
}
