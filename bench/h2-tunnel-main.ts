/**
 * The tunnel suite's floor for an HTTP/2 CONNECT tunnel on Node: node:http2 over mutual TLS
 * 1.3 with the agents' flow-control settings, and nothing else (no registry, identities,
 * policy, metrics or logs). The client side accepts plain TCP and opens one CONNECT stream per
 * connection on one session; the server side connects to the `:authority` and answers 200.
 * Both join stream and socket with the agent's plain socket splice (pipes), not its tunnel one.
 * Whatever nodemesh's tunnel costs beyond this is the mesh's own; what this costs is Node's.
 *
 *   server LISTEN_IP:PORT CREDS_DIR
 *   client CREDS_DIR SERVER_IP:PORT LISTEN_IP:PORT=TARGET_IP:PORT...
 *
 * CREDS_DIR holds node.crt, node.key and ca.crt (`nodemesh ca issue-node`).
 */
import fs from 'node:fs'
import http2 from 'node:http2'
import net from 'node:net'
import path from 'node:path'
import { joinHostPort } from '../agent/address-text'
import { spliceSockets } from '../agent/tcp/splice-sockets'
import { TUNNEL_HTTP2_SETTINGS, TUNNEL_SESSION_WINDOW } from '../agent/tunnel/tunnel-settings'
import { hostPortOf, parseForwardSpec } from './forward-spec'

function tlsOptions(dir: string): { key: Buffer; cert: Buffer; ca: Buffer; minVersion: 'TLSv1.3' } {
  const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f))
  return { key: read('node.key'), cert: read('node.crt'), ca: read('ca.crt'), minVersion: 'TLSv1.3' }
}

function server(listen: string, dir: string): void {
  const srv = http2.createSecureServer({ ...tlsOptions(dir), requestCert: true, rejectUnauthorized: true, settings: TUNNEL_HTTP2_SETTINGS })
  srv.on('session', (s) => s.once('connect', () => s.setLocalWindowSize(TUNNEL_SESSION_WINDOW)))
  srv.on('stream', (stream, headers) => {
    const up = net.connect({ ...hostPortOf(String(headers[':authority'])), noDelay: true, allowHalfOpen: true })
    up.once('connect', () => {
      stream.respond({ ':status': 200 })
      spliceSockets(up, stream, () => {})
    })
    up.once('error', () => stream.close(http2.constants.NGHTTP2_CONNECT_ERROR))
  })
  const { host, port } = hostPortOf(listen)
  srv.listen(port, host)
}

function client(dir: string, via: string, specs: readonly string[]): void {
  const session = http2.connect(`https://${via}`, {
    ...tlsOptions(dir), settings: TUNNEL_HTTP2_SETTINGS,
    // The chain is checked against ca.crt; node credentials name no host.
    checkServerIdentity: () => undefined,
  })
  session.once('connect', () => session.setLocalWindowSize(TUNNEL_SESSION_WINDOW))
  session.on('error', (err) => { console.error(`tunnel session: ${err.message}`); process.exit(1) })
  for (const spec of specs) {
    const { listen, target } = parseForwardSpec(spec)
    net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const stream = session.request({ ':method': 'CONNECT', ':authority': joinHostPort(target.host, target.port) })
      stream.once('response', () => spliceSockets(socket, stream, () => {}))
      stream.once('error', () => socket.destroy())
    }).listen({ ...listen, backlog: 4096 })
  }
}

const [role, ...args] = process.argv.slice(2)
if (role === 'server' && args.length === 2) server(args[0]!, args[1]!)
else if (role === 'client' && args.length >= 3) client(args[0]!, args[1]!, args.slice(2))
else {
  console.error('usage: h2-tunnel-main server LISTEN_IP:PORT CREDS_DIR | client CREDS_DIR SERVER_IP:PORT LISTEN_IP:PORT=TARGET_IP:PORT...')
  process.exit(2)
}
process.on('SIGTERM', () => process.exit(0))
