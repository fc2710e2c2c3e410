/**
 * The tunnel's own metrics, read from the listener's and the pool's counts at scrape time, so
 * the stream path does no metric work: inbound sessions accepted, handshakes refused, peers
 * refused for their SPIFFE ID, and the sessions open each way. A pool that works shows the
 * inbound total standing still while connections come and go.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { TunnelServerStats } from './tunnel-server'

export interface TunnelCounts {
  /** The listener's counts; undefined until the tunnel is up. */
  server(): TunnelServerStats | undefined
  /** Outbound pooled sessions open (or being dialled); undefined until the tunnel is up. */
  outboundSessions(): number | undefined
}

const NAMES = {
  accepted: 'nodemesh_tunnel_inbound_sessions_accepted_total',
  handshakeFailures: 'nodemesh_tunnel_inbound_handshake_failures_total',
  rejectedPeers: 'nodemesh_tunnel_inbound_peers_rejected_total',
  inbound: 'nodemesh_tunnel_inbound_sessions',
  outbound: 'nodemesh_tunnel_outbound_sessions',
} as const

export function registerTunnelMetrics(registry: Registry, counts: TunnelCounts): void {
  // A tunnel restarted in the same process replaces its predecessor's metrics.
  for (const name of Object.values(NAMES)) if (registry.getSingleMetric(name)) registry.removeSingleMetric(name)
  const total = (name: string, help: string, read: (s: TunnelServerStats) => number): void => {
    new Counter({
      name, help, registers: [registry],
      collect() {
        // The listener keeps the running total; a counter has no set, so it is rebuilt from it.
        this.reset()
        const s = counts.server()
        if (s !== undefined) this.inc(read(s))
      },
    })
  }
  total(NAMES.accepted, 'TLS sessions accepted by the tunnel listener (client certificate chain trusted)', (s) => s.secureConnections)
  total(NAMES.handshakeFailures, 'Tunnel handshakes refused: no or untrusted client certificate, TLS below 1.3, not TLS', (s) => s.handshakeFailures)
  total(NAMES.rejectedPeers, 'Tunnel sessions closed because the peer certificate\'s SPIFFE ID was refused', (s) => s.rejectedPeers)
  new Gauge({
    name: NAMES.inbound, help: 'Tunnel sessions open from other agents', registers: [registry],
    collect() { this.set(counts.server()?.openSessions ?? 0) },
  })
  new Gauge({
    name: NAMES.outbound, help: 'Pooled tunnel sessions open (or being dialled) to other agents', registers: [registry],
    collect() { this.set(counts.outboundSessions() ?? 0) },
  })
}
