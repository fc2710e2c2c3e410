/**
 * What the data-plane listeners receive from the agent: the current routing table (read once
 * per request or connection, so a swap never changes a decision halfway), shared load
 * counters, metrics and the access logger.
 */
import type { AuthzMetrics } from '../authz/authz-metrics'
import type { Logger } from '../observe/logger'
import type { Metrics } from '../observe/metrics'
import type { EndpointLoad } from '../routing/endpoint-load'
import type { RoutingTable } from '../routing/routing-table'
import type { TunnelOpener } from './upstream-pool'

export interface ProxyContext {
  table(): RoutingTable
  readonly load: EndpointLoad
  readonly metrics: Metrics
  readonly log: Logger
  readonly node: string
  /** Opens tunnel streams to other nodes; absent while this agent holds no mesh identity. */
  readonly tunnel?: TunnelOpener
  /** Counts authorization decisions made here (same-node and inbound deliveries). */
  readonly authz?: AuthzMetrics
}
