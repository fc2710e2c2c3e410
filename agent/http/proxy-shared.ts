/** State shared by every client connection of one HTTP proxy instance. */
import type { HeadLimits } from './http-head'
import type { ProxyContext } from './proxy-context'
import type { RequestMetrics } from './request-metrics'
import type { UpstreamPool } from './upstream-pool'

export interface HttpProxyOptions {
  readonly headLimits: HeadLimits
  /** 504 NM_UPSTREAM_TIMEOUT when the endpoint sends no response head within this time. */
  readonly responseHeadTimeoutMs: number
  /** Idle keep-alive client connections (and unfinished heads) are closed after this time. */
  readonly clientIdleTimeoutMs: number
  /** Bytes of pipelined requests buffered while one is in flight; the socket pauses beyond. */
  readonly pipelineBufferBytes: number
  readonly upstreamMaxIdlePerTarget: number
  readonly upstreamIdleTimeoutMs: number
  readonly connectTimeoutMs: number
  /** Randomness for endpoint picking (seedable in tests). */
  readonly random: () => number
}

export interface ProxyShared {
  readonly ctx: ProxyContext
  readonly opts: HttpProxyOptions
  readonly pool: UpstreamPool
  readonly metrics: RequestMetrics
  readonly outstanding: (target: string) => number
  /** Open client connections; the periodic sweep enforces their deadlines. */
  readonly connections: Set<{ destroy(): void; sweep(now: number): void }>
}
