/**
 * Prometheus /metrics and the readiness probe, each on its own port as Istio does (15020,
 * 15021), bound to the node address so the kubelet and scrapers reach them.
 */
import http from 'node:http'
import { listen } from '../admin/admin-server'
import type { Metrics } from './metrics'

export interface Readiness {
  /** Undefined when ready; otherwise why not, for the probe's body. */
  (): string | undefined
}

export async function startMetricsServer(address: string, port: number, metrics: Metrics): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('try /metrics\n')
      return
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    )
  })
  await listen(server, port, address)
  return server
}

export async function startReadyServer(address: string, port: number, notReady: Readiness): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/healthz/ready') {
      res.writeHead(404).end('try /healthz/ready\n')
      return
    }
    const why = notReady()
    if (why === undefined) res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n')
    else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${why}\n`)
  })
  await listen(server, port, address)
  return server
}
