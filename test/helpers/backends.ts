/** Real backends for end-to-end tests: an HTTP server that reports what it saw, and a TCP echo. */
import http from 'node:http'
import net from 'node:net'

export interface Backend {
  readonly port: number
  readonly connections: number
  close(): Promise<void>
}

/** Answers every request with JSON of what arrived; `upgrade` requests are switched and echoed. */
export async function startHttpBackend(name: string, host = '127.0.0.1'): Promise<Backend> {
  let connections = 0
  const server = http.createServer((req, res) => {
    let size = 0
    req.on('data', (d: Buffer) => { size += d.length })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, host: req.headers.host, xff: req.headers['x-forwarded-for'], bodyBytes: size, traceparent: req.headers.traceparent }))
    })
  })
  server.on('connection', () => { connections++ })
  server.on('upgrade', (req, socket: net.Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`)
    socket.pipe(socket)
  })
  await new Promise<void>((r) => server.listen(0, host, r))
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() { return connections },
    close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections() }),
  }
}

/** Echoes bytes; when the client half-closes, ends its side after echoing everything. */
export async function startEchoBackend(host = '127.0.0.1'): Promise<Backend> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    s.pipe(s)
  })
  await new Promise<void>((r) => server.listen(0, host, r))
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() { return connections },
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()) }),
  }
}
