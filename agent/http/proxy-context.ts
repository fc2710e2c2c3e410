/**
 * What the data-plane listeners receive from the agent: the current routing table (read once
 * per request or connection, so a swap never changes a decision halfway), shared load
 * counters, metrics and the access logger.
 */
import type { Logger } from '../observe/logger'
import type { Metrics } from '../observe/metrics'
import type { EndpointLoad } from '../routing/endpoint-load'
import type { RoutingTable } from '../routing/routing-table'

export interface ProxyContext {
  table(): RoutingTable
  readonly load: EndpointLoad
  readonly metrics: Metrics
  readonly log: Logger
  readonly node: string
}
