import { Registry } from 'prom-client'
import t from 'tap'
import { registerTunnelMetrics } from '../../../agent/tunnel/tunnel-metrics'
import type { TunnelServerStats } from '../../../agent/tunnel/tunnel-server'

t.test('before the tunnel is up every tunnel metric reads 0', async (t) => {
  const registry = new Registry()
  registerTunnelMetrics(registry, { server: () => undefined, outboundSessions: () => undefined })
  const text = await registry.metrics()
  for (const name of ['nodemesh_tunnel_inbound_sessions_accepted_total', 'nodemesh_tunnel_inbound_handshake_failures_total',
    'nodemesh_tunnel_inbound_peers_rejected_total', 'nodemesh_tunnel_inbound_sessions', 'nodemesh_tunnel_outbound_sessions']) {
    t.match(text, new RegExp(`^${name} 0$`, 'm'), name)
  }
})

t.test('each scrape reads the counts as they are then', async (t) => {
  const registry = new Registry()
  let stats: TunnelServerStats = { secureConnections: 3, handshakeFailures: 2, rejectedPeers: 1, openSessions: 2 }
  let outbound = 4
  registerTunnelMetrics(registry, { server: () => stats, outboundSessions: () => outbound })
  let text = await registry.metrics()
  t.match(text, /^nodemesh_tunnel_inbound_sessions_accepted_total 3$/m)
  t.match(text, /^nodemesh_tunnel_inbound_handshake_failures_total 2$/m)
  t.match(text, /^nodemesh_tunnel_inbound_peers_rejected_total 1$/m)
  t.match(text, /^nodemesh_tunnel_inbound_sessions 2$/m)
  t.match(text, /^nodemesh_tunnel_outbound_sessions 4$/m)
  stats = { secureConnections: 7, handshakeFailures: 2, rejectedPeers: 1, openSessions: 0 }
  outbound = 1
  text = await registry.metrics()
  t.match(text, /^nodemesh_tunnel_inbound_sessions_accepted_total 7$/m, 'the total follows the listener, not a copy taken at registration')
  t.match(text, /^nodemesh_tunnel_inbound_sessions 0$/m)
  t.match(text, /^nodemesh_tunnel_outbound_sessions 1$/m)
})

t.test('registering again replaces the metrics instead of failing', async (t) => {
  const registry = new Registry()
  registerTunnelMetrics(registry, { server: () => undefined, outboundSessions: () => 1 })
  registerTunnelMetrics(registry, { server: () => undefined, outboundSessions: () => 2 })
  t.match(await registry.metrics(), /^nodemesh_tunnel_outbound_sessions 2$/m)
})
