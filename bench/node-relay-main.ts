/**
 * The tunnel suite's floor for any proxy on node:net: a plain one-hop TCP relay, no TLS, no
 * HTTP/2, no policy, nothing but accept, connect and pipe. Whatever a node:net proxy does per
 * connection, it does at least this much, so this relay's conn/s bounds what the mesh, two such
 * hops, can reach. Usage: LISTEN_HOST:PORT=TARGET_HOST:PORT...
 */
import net from 'node:net'

function relay(pair: string): void {
  const m = /^([^:]+):(\d+)=([^:]+):(\d+)$/.exec(pair)
  if (m === null) throw new Error(`expected LISTEN_HOST:PORT=TARGET_HOST:PORT, got ${JSON.stringify(pair)}`)
  const [, listenHost, listenPort, host, port] = m as unknown as [string, string, string, string, string]
  net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const up = net.connect({ host, port: Number(port), noDelay: true, allowHalfOpen: true })
    const both = (): void => { client.destroy(); up.destroy() }
    client.on('error', both)
    up.on('error', both)
    client.pipe(up)
    up.pipe(client)
  }).listen({ host: listenHost, port: Number(listenPort), backlog: 4096 })
}

process.argv.slice(2).forEach(relay)
process.on('SIGTERM', () => process.exit(0))
