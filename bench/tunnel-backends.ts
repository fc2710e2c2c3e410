/**
 * The destination host's workloads, shared by every tunnel arm: an iperf3 server for bulk
 * throughput, and nginx answering every HTTP/1.0 request with a fixed 2-byte body and closing
 * the connection (HTTP/1.0 without keep-alive), for new connections per second.
 */
import { startNginx } from './nginx-process'
import { freePort, startProcess, waitForPort, which, type Managed } from './processes'
import { DEST_HOST, type BackendPorts } from './tunnel-arm'

export interface TunnelBackends extends BackendPorts {
  /** iperf3 server and nginx worker pids, to show the backends are not what limits. */
  pids(): number[]
  readonly procs: readonly Managed[]
}

export async function startTunnelBackends(): Promise<TunnelBackends> {
  const iperf3 = which('iperf3')
  if (!iperf3) throw new Error('iperf3 is needed for the tunnel suite (apt-get install -y iperf3)')
  const nginx = which('nginx')
  if (!nginx) throw new Error('nginx is needed for the tunnel suite backend (apt-get install -y nginx-light)')

  const iperfPort = await freePort(DEST_HOST)
  const iperf = startProcess('iperf3 server', iperf3, ['-s', '-B', DEST_HOST, '-p', String(iperfPort)])
  await waitForPort(iperf, DEST_HOST, iperfPort)

  const httpPort = await freePort(DEST_HOST)
  const web = await startNginx('tunnel-backend', nginx, httpPort, `
  server {
    listen ${DEST_HOST}:${httpPort} backlog=4096;
    location / {
      default_type text/plain;
      return 200 "ok";
    }
  }`, DEST_HOST)
  return { iperfPort, httpPort, pids: () => [iperf.pid, ...web.workerPids()], procs: [iperf, web.proc] }
}
