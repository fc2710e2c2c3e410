/**
 * The access-log record and request metrics of one exchange on a client connection: counted
 * while the exchange runs and written once, by whichever ending comes first (response done,
 * the proxy's own answer, an abort, the client gone). One per connection, reused per exchange.
 */
import { performance } from 'node:perf_hooks'
import type { CompiledEndpoint, CompiledPort } from '../routing/routing-table'
import type { RequestHead } from './http-head'
import type { RequestMetrics } from './request-metrics'

export class ExchangeRecord {
  /** Status of the final response head from the endpoint; 0 until one arrived. */
  status = 0
  bytesIn = 0
  bytesOut = 0
  /** The source identity, once known. */
  sourceIdentity: string | undefined = undefined
  private written = true
  private startedAt = 0
  private dnsDomain = ''

  constructor(
    private readonly metrics: RequestMetrics,
    private readonly client: string,
    private readonly reporter: 'source' | 'destination',
  ) {}

  /** Starts the record of the next exchange, which has read `bytesIn` bytes so far. */
  begin(bytesIn: number, dnsDomain: string): void {
    this.written = false
    this.startedAt = performance.now()
    this.bytesIn = bytesIn
    this.bytesOut = 0
    this.status = 0
    this.sourceIdentity = undefined
    this.dnsDomain = dnsDomain
  }

  /** Writes the record with `status`; later calls for the same exchange do nothing. */
  write(status: number, req: RequestHead | null, port: CompiledPort | undefined, endpoint: CompiledEndpoint | undefined): void {
    if (this.written) return
    this.written = true
    this.metrics.record(req?.method, req?.path, status, port, endpoint?.target,
      performance.now() - this.startedAt, this.bytesIn, this.bytesOut, this.client, this.dnsDomain,
      this.reporter, this.sourceIdentity)
  }
}
