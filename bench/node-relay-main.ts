/**
 * The tunnel suite's floor for any proxy on node:net: a plain one-hop TCP relay, no TLS, no
 * HTTP/2, no policy, nothing but accept, connect and the agent's own socket splice. Whatever a
 * node:net proxy does per connection, it does at least this much, so this relay's conn/s bounds
 * what the mesh, two such hops, can reach. Usage: LISTEN_IP:PORT=TARGET_IP:PORT...
 */
import net from 'node:net'
import { spliceSockets } from '../agent/tcp/splice-sockets'
import { parseForwardSpec } from './forward-spec'

function relay(spec: string): void {
  const { listen, target } = parseForwardSpec(spec)
  net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    spliceSockets(client, net.connect({ ...target, noDelay: true, allowHalfOpen: true }), () => {})
  }).listen({ ...listen, backlog: 4096 })
}

process.argv.slice(2).forEach(relay)
process.on('SIGTERM', () => process.exit(0))
