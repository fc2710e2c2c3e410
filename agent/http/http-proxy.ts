/**
 * The L7 HTTP/1.1 proxy on node:net (node:http costs several times the CPU per request). The
 * agent hands it accepted sockets from VIP listeners and from the HTTP proxy endpoint; each
 * becomes a ClientConnection sharing one upstream pool, load counters and metrics.
 */
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import { ClientConnection } from './client-connection'
import { DEFAULT_HEAD_LIMITS } from './http-head'
import type { HttpBinding } from './plan-http-request'
import type { ProxyContext } from './proxy-context'
import type { HttpProxyOptions, ProxyShared } from './proxy-shared'
import { RequestMetrics } from './request-metrics'
import { UpstreamPool } from './upstream-pool'

export type { HttpBinding } from './plan-http-request'
export type { HttpProxyOptions } from './proxy-shared'

const HTTP_PROXY_DEFAULTS: HttpProxyOptions = {
  headLimits: DEFAULT_HEAD_LIMITS,
  responseHeadTimeoutMs: 30_000,
  clientIdleTimeoutMs: 60_000,
  pipelineBufferBytes: 128 * 1024,
  upstreamMaxIdlePerTarget: 64,
  // Below the 5 s keep-alive timeout of Node servers, so the pool rarely holds a closing socket.
  upstreamIdleTimeoutMs: 4_000,
  connectTimeoutMs: 5_000,
  random: Math.random,
}

export interface HttpProxy {
  /**
   * Serves HTTP/1.1 on an accepted socket, or on a tunnel stream (then `clientAddress` names the
   * peer agent, as a stream has no remote address of its own).
   */
  handle(socket: Duplex, binding: HttpBinding, clientAddress?: string): void
  /** Closes every client and upstream connection. The listeners belong to the caller. */
  close(): Promise<void>
}

/**
 * How often deadlines (idle clients, response heads, idle and connecting upstreams) are checked:
 * a quarter of the shortest timeout, at most once a second, so a timeout fires at most 25%
 * (or 1 s) late and never early. One shared timer replaces a timer per request.
 */
function sweepIntervalMs(o: HttpProxyOptions): number {
  const shortest = Math.min(o.responseHeadTimeoutMs, o.clientIdleTimeoutMs, o.upstreamIdleTimeoutMs, o.connectTimeoutMs)
  return Math.max(5, Math.min(1000, Math.floor(shortest / 4)))
}

export function createHttpProxy(ctx: ProxyContext, opts: Partial<HttpProxyOptions> = {}): HttpProxy {
  const o: HttpProxyOptions = { ...HTTP_PROXY_DEFAULTS, ...opts }
  const shared: ProxyShared = {
    ctx,
    opts: o,
    pool: new UpstreamPool({
      maxIdlePerTarget: o.upstreamMaxIdlePerTarget, idleTimeoutMs: o.upstreamIdleTimeoutMs, connectTimeoutMs: o.connectTimeoutMs,
      // Read when dialing: the tunnel comes up after the agent's identity does.
      tunnel: (route) => ctx.tunnel?.(route) ?? Promise.reject(Object.assign(new Error('this agent has no tunnel (no mesh identity)'), { code: 'ENOTUNNEL' })),
    }),
    metrics: new RequestMetrics(ctx.metrics, ctx.log),
    outstanding: (target) => ctx.load.outstanding(target),
    connections: new Set(),
  }
  let closed = false
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const c of shared.connections) c.sweep(now)
    shared.pool.sweep(now)
  }, sweepIntervalMs(o))
  // The sweep alone must not keep the process alive.
  sweep.unref()
  return {
    handle(socket, binding, clientAddress) {
      if (closed) {
        socket.destroy()
        return
      }
      shared.connections.add(new ClientConnection(shared, socket, binding, clientAddress))
    },
    async close() {
      closed = true
      clearInterval(sweep)
      for (const c of shared.connections) c.destroy()
      shared.connections.clear()
      shared.pool.close()
    },
  }
}
