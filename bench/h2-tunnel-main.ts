/**
 * The tunnel suite's floor for an HTTP/2 CONNECT tunnel on Node: node:http2 over mutual TLS
 * 1.3 with the agents' flow-control settings, and nothing else (no registry, identities,
 * policy, metrics or logs). The client side accepts plain TCP and opens one CONNECT stream per
 * connection on one session; the server side connects to the `:authority` and answers 200.
 * Whatever nodemesh's tunnel costs beyond this is the mesh's own; what this costs is Node's.
 *
 *   server LISTEN_HOST:PORT CREDS_DIR
 *   client CREDS_DIR SERVER_HOST:PORT LISTEN_HOST:PORT=TARGET_HOST:PORT...
 *
 * CREDS_DIR holds node.crt, node.key and ca.crt (`nodemesh ca issue-node`).
 */
import fs from 'node:fs'
import http2 from 'node:http2'
import net from 'node:net'
import path from 'node:path'
import { TUNNEL_HTTP2_SETTINGS, TUNNEL_SESSION_WINDOW } from '../agent/tunnel/tunnel-settings'

function tlsOptions(dir: string): { key: Buffer; cert: Buffer; ca: Buffer; minVersion: 'TLSv1.3' } {
  const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f))
  return { key: read('node.key'), cert: read('node.crt'), ca: read('ca.crt'), minVersion: 'TLSv1.3' }
}

function hostPort(text: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text)
  if (m === null) throw new Error(`expected HOST:PORT, got ${JSON.stringify(text)}`)
  return { host: m[1] as string, port: Number(m[2]) }
}

function join(a: net.Socket, b: http2.Http2Stream): void {
  a.on('error', () => b.destroy())
  b.on('error', () => a.destroy())
  a.pipe(b)
  b.pipe(a)
}

function server(listen: string, dir: string): void {
  const srv = http2.createSecureServer({ ...tlsOptions(dir), requestCert: true, rejectUnauthorized: true, settings: TUNNEL_HTTP2_SETTINGS })
  srv.on('session', (s) => s.once('connect', () => s.setLocalWindowSize(TUNNEL_SESSION_WINDOW)))
  srv.on('stream', (stream, headers) => {
    const up = net.connect({ ...hostPort(String(headers[':authority'])), noDelay: true, allowHalfOpen: true })
    up.once('connect', () => {
      stream.respond({ ':status': 200 })
      join(up, stream)
    })
    up.once('error', () => stream.close(http2.constants.NGHTTP2_CONNECT_ERROR))
  })
  const { host, port } = hostPort(listen)
  srv.listen(port, host)
}

function client(dir: string, via: string, pairs: readonly string[]): void {
  const session = http2.connect(`https://${via}`, {
    ...tlsOptions(dir), settings: TUNNEL_HTTP2_SETTINGS,
    // The chain is checked against ca.crt; node credentials name no host.
    checkServerIdentity: () => undefined,
  })
  session.once('connect', () => session.setLocalWindowSize(TUNNEL_SESSION_WINDOW))
  session.on('error', (err) => { console.error(`tunnel session: ${err.message}`); process.exit(1) })
  for (const pair of pairs) {
    const [listen, target] = pair.split('=') as [string, string | undefined]
    if (target === undefined) throw new Error(`expected LISTEN=TARGET, got ${JSON.stringify(pair)}`)
    const { host, port } = hostPort(listen)
    net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const stream = session.request({ ':method': 'CONNECT', ':authority': target })
      stream.once('response', () => join(socket, stream))
      stream.once('error', () => socket.destroy())
    }).listen({ host, port, backlog: 4096 })
  }
}

const [role, ...args] = process.argv.slice(2)
if (role === 'server' && args.length === 2) server(args[0]!, args[1]!)
else if (role === 'client' && args.length >= 3) client(args[0]!, args[1]!, args.slice(2))
else {
  console.error('usage: h2-tunnel-main server LISTEN_HOST:PORT CREDS_DIR | client CREDS_DIR SERVER_HOST:PORT LISTEN_HOST:PORT=TARGET_HOST:PORT...')
  process.exit(2)
}
process.on('SIGTERM', () => process.exit(0))
