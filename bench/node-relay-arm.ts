/**
 * The node-relay arm: node-relay-main.js on the source host, plain TCP to the backends on the
 * destination host. Not a peer but a reference, as direct is: the least any proxy on node:net
 * costs per connection and per byte on this machine.
 */
import path from 'node:path'
import { backendForwards } from './forward-spec'
import { freePort, startProcess, waitForPort } from './processes'
import { SOURCE_HOST, type BackendPorts, type TunnelArm } from './tunnel-arm'

const RELAY = path.join(__dirname, 'node-relay-main.js')

export async function startNodeRelayArm(b: BackendPorts): Promise<TunnelArm> {
  const iperf = { host: SOURCE_HOST, port: await freePort(SOURCE_HOST) }
  const http = { host: SOURCE_HOST, port: await freePort(SOURCE_HOST) }
  const proc = startProcess('node relay', process.execPath, [RELAY, ...backendForwards(b, iperf, http)])
  await waitForPort(proc, http.host, http.port)
  return {
    name: 'node-relay', iperf, http, proxyPids: () => [proc.pid], procs: [proc],
    describe: `one plain node:net hop on ${SOURCE_HOST} (accept, connect, pipe; no TLS), node ${process.version}: the floor of a node:net proxy`,
  }
}
