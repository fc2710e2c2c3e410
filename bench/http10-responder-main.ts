/**
 * The capture suite's connection-loop backend, run as its own process so it can run inside a
 * namespace: answers every request with a fixed HTTP/1.0 200 and a 2-byte body, then closes
 * (no keep-alive), so each loop iteration is one new connection. Usage: HOST PORT; prints
 * `{"port":N}` once listening.
 */
import net from 'node:net'

const ANSWER = Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok')
const [host, portText] = process.argv.slice(2)

const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  socket.on('error', () => { /* a client that went away is no news */ })
  let head = ''
  socket.on('data', (d: Buffer) => {
    head += d.toString('latin1')
    // The request is complete at its blank line; answer once and close our side.
    if (head.includes('\r\n\r\n')) { socket.removeAllListeners('data'); socket.end(ANSWER) }
  })
})
server.listen({ host, port: Number(portText), backlog: 4096 }, () => {
  console.log(JSON.stringify({ port: (server.address() as net.AddressInfo).port }))
})
process.on('SIGTERM', () => process.exit(0))
