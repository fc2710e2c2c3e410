/**
 * The node-h2 arm: h2-tunnel-main.js as client on the source host and server on the
 * destination host. A reference, as node-relay is: what an HTTP/2 CONNECT tunnel over mutual
 * TLS costs on Node before any mesh logic.
 */
import fs from 'node:fs'
import path from 'node:path'
import { CLI, makeNodeCredentials } from './bench-credentials'
import { backendForwards } from './forward-spec'
import { freePort, startProcess, waitForPort } from './processes'
import { DEST_HOST, SOURCE_HOST, type BackendPorts, type TunnelArm, type TunnelSkipped } from './tunnel-arm'

const TUNNEL = path.join(__dirname, 'h2-tunnel-main.js')

export async function startH2TunnelArm(b: BackendPorts): Promise<TunnelArm | TunnelSkipped> {
  if (!fs.existsSync(CLI)) return { name: 'node-h2', reason: `${CLI} is missing (build first: npm run build)` }
  const dir = await makeNodeCredentials('nm-bench-h2-', ['client', 'server'])
  const via = { host: DEST_HOST, port: await freePort(DEST_HOST) }
  const server = startProcess('node-h2 server', process.execPath, [TUNNEL, 'server', `${via.host}:${via.port}`, path.join(dir, 'server')])
  await waitForPort(server, via.host, via.port)
  const iperf = { host: SOURCE_HOST, port: await freePort(SOURCE_HOST) }
  const http = { host: SOURCE_HOST, port: await freePort(SOURCE_HOST) }
  const client = startProcess('node-h2 client', process.execPath, [TUNNEL, 'client', path.join(dir, 'client'), `${via.host}:${via.port}`, ...backendForwards(b, iperf, http)])
  await waitForPort(client, http.host, http.port)
  return {
    name: 'node-h2', iperf, http, proxyPids: () => [client.pid, server.pid], procs: [client, server],
    describe: `node:http2 CONNECT over mutual TLS 1.3, one session, the agents' windows, node ${process.version}, no mesh logic: the floor of an HTTP/2 tunnel on Node`,
  }
}
