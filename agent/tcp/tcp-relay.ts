/**
 * The L4 relay for `tcp` service ports: pick an endpoint, connect, splice byte for byte with
 * half-close honoured. A connect failure is tried once more on another endpoint (nothing was
 * sent yet); no endpoint at all resets the client, which is the closest thing TCP has to a 503.
 * One access-log record per connection, written when it closes.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { Counter } from 'prom-client'
import type { ProxyContext } from '../http/proxy-context'
import { attributeSource } from '../identity/attribute-source'
import { planDelivery } from '../routing/plan-delivery'
import type { CompiledEndpoint, CompiledPort } from '../routing/routing-table'
import { spliceStream } from '../tunnel/splice-stream'
import { planTcpConnection } from './plan-tcp-connection'
import { spliceSockets } from './splice-sockets'

export interface TcpRelayOptions {
  readonly connectTimeoutMs: number
  readonly random: () => number
}

const TCP_RELAY_DEFAULTS: TcpRelayOptions = { connectTimeoutMs: 5_000, random: Math.random }

export interface TcpRelay {
  /** Relays an accepted connection; the listener should be created with `allowHalfOpen: true`. */
  handle(socket: net.Socket, vipPort: string): void
  close(): Promise<void>
}

interface TcpChildren {
  readonly domain: string
  readonly sent: Counter.Internal
  readonly received: Counter.Internal
  readonly opened: Counter.Internal
  readonly closed: Counter.Internal
}

export function createTcpRelay(ctx: ProxyContext, opts: Partial<TcpRelayOptions> = {}): TcpRelay {
  const o: TcpRelayOptions = { ...TCP_RELAY_DEFAULTS, ...opts }
  const outstanding = (target: string) => ctx.load.outstanding(target)
  const live = new Map<net.Socket, Duplex | null>()
  const children = new Map<string, TcpChildren>()
  let closing = false

  function metricsFor(port: CompiledPort, domain: string): TcpChildren {
    let c = children.get(port.service)
    if (c === undefined || c.domain !== domain) {
      const labels = {
        reporter: 'source', source_workload: 'unknown', source_principal: 'unknown',
        destination_service: `${port.serviceName}.${port.namespace}.${domain}`, destination_principal: 'unknown',
      }
      const m = ctx.metrics
      c = { domain, sent: m.tcpSent.labels(labels), received: m.tcpReceived.labels(labels), opened: m.tcpOpened.labels(labels), closed: m.tcpClosed.labels(labels) }
      children.set(port.service, c)
    }
    return c
  }

  function handle(client: net.Socket, vipPort: string): void {
    if (closing) {
      client.resetAndDestroy()
      return
    }
    client.allowHalfOpen = true
    client.pause()
    const startedAt = performance.now()
    const clientAddr = client.remoteAddress ?? 'unknown'
    const table = ctx.table()
    const plan = planTcpConnection(table, vipPort, outstanding, o.random)
    if (plan.kind === 'reset') {
      ctx.log.info({ type: 'access', protocol: 'tcp', service: plan.port?.service, client: clientAddr, error: plan.code, reason: plan.message })
      client.resetAndDestroy()
      return
    }
    const port = plan.port
    const m = metricsFor(port, table.dnsDomain)
    m.opened.inc()
    live.set(client, null)
    let clientGone = false
    const onEarlyClose = () => { clientGone = true }
    client.on('close', onEarlyClose)
    client.on('error', noop)
    let retried = false

    const source = attributeSource(table, ctx.node, clientAddr)

    const onFail = (ep: CompiledEndpoint, err: NodeJS.ErrnoException) => {
      ctx.load.end(ep.target)
      if (clientGone) return finish(ep, err.code)
      if (!retried) {
        retried = true
        const next = planTcpConnection(ctx.table(), vipPort, outstanding, o.random, new Set([ep.target]))
        if (next.kind === 'connect') return connect(next.endpoint)
      }
      client.resetAndDestroy()
      finish(ep, err.code ?? err.message)
    }

    const spliceTo = (ep: CompiledEndpoint, up: Duplex, splice: (closed: () => void) => void) => {
      if (clientGone) {
        up.destroy()
        ctx.load.end(ep.target)
        return finish(ep, 'client closed')
      }
      client.removeListener('close', onEarlyClose)
      live.set(client, up)
      splice(() => {
        ctx.load.end(ep.target)
        finish(ep, undefined)
      })
    }

    const connect = (ep: CompiledEndpoint) => {
      const d = planDelivery({ table: ctx.table(), localNode: ctx.node, port, endpoint: ep, source, canTunnel: ctx.tunnel !== undefined })
      if ((d.kind === 'direct' || d.kind === 'refuse') && d.decision) ctx.authz?.recordDecision(d.decision)
      if (d.kind === 'refuse') {
        // Denied or unreachable: TCP has no status line, so the client is reset.
        client.resetAndDestroy()
        return finish(ep, d.code, d.message)
      }
      ctx.load.begin(ep.target)
      if (d.kind === 'tunnel') {
        ctx.tunnel!(d.route).then((stream) => spliceTo(ep, stream, (closed) => spliceStream(stream, client, closed)), (err: NodeJS.ErrnoException) => onFail(ep, err))
        return
      }
      const up = net.connect({ host: d.host, port: d.port, allowHalfOpen: true, noDelay: true })
      up.setTimeout(o.connectTimeoutMs)
      const onTimeout = () => up.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }))
      const failed = (err: NodeJS.ErrnoException) => onFail(ep, err)
      up.on('timeout', onTimeout)
      up.once('error', failed)
      up.once('connect', () => {
        up.removeListener('error', failed)
        up.removeListener('timeout', onTimeout)
        up.setTimeout(0)
        spliceTo(ep, up, (closed) => spliceSockets(client, up, closed))
      })
    }

    const finish = (ep: CompiledEndpoint, error: string | undefined, reason?: string) => {
      live.delete(client)
      const sent = client.bytesWritten
      const received = client.bytesRead
      m.closed.inc()
      if (sent > 0) m.sent.inc(sent)
      if (received > 0) m.received.inc(received)
      ctx.log.info({
        type: 'access', protocol: 'tcp', service: port.service, endpoint: ep.target, client: clientAddr, source: source.identity,
        bytes_in: received, bytes_out: sent, duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
        ...(error === undefined ? {} : { error }), ...(reason === undefined ? {} : { reason }),
      })
    }

    connect(plan.endpoint)
  }

  return {
    handle,
    async close() {
      closing = true
      for (const [client, up] of live) {
        client.destroy()
        up?.destroy()
      }
      live.clear()
    },
  }
}

function noop(): void {}
