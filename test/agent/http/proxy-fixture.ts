/**
 * A proxy under test: the real HTTP proxy and TCP relay behind real listeners on port 0, with
 * a routing table that tests swap, captured access logs and a private metrics registry.
 */
import net from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import { createHttpProxy, type HttpBinding, type HttpProxy, type HttpProxyOptions } from '../../../agent/http/http-proxy'
import type { ProxyContext } from '../../../agent/http/proxy-context'
import { createMetrics } from '../../../agent/observe/metrics'
import { EndpointLoad } from '../../../agent/routing/endpoint-load'
import type { RoutingTable } from '../../../agent/routing/routing-table'

export interface LogRecord { [k: string]: unknown }

export interface TestContext {
  readonly ctx: ProxyContext
  readonly logs: LogRecord[]
  setTable(t: RoutingTable): void
}

export function testContext(table: RoutingTable): TestContext {
  let current = table
  const logs: LogRecord[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogRecord)
      cb()
    },
  })
  const ctx: ProxyContext = {
    table: () => current,
    load: new EndpointLoad(),
    metrics: createMetrics({ defaultMetrics: false }),
    log: pino({ level: 'info' }, sink),
    node: 'node-a',
  }
  return { ctx, logs, setTable: (t) => { current = t } }
}

export interface RunningProxy extends TestContext {
  readonly proxy: HttpProxy
  readonly port: number
  close(): Promise<void>
}

/** Listens on 127.0.0.1:0 and hands every accepted socket to the proxy with `binding`. */
export async function startProxy(table: RoutingTable, binding: HttpBinding, opts: Partial<HttpProxyOptions> = {}): Promise<RunningProxy> {
  const tc = testContext(table)
  const proxy = createHttpProxy(tc.ctx, opts)
  const server = net.createServer({ allowHalfOpen: true }, (s) => proxy.handle(s, binding))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    ...tc, proxy, port,
    async close() {
      await proxy.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Sends raw bytes on a new connection and collects everything until the proxy closes it. */
export function rawExchange(port: number, data: string | Buffer, opts: { endAfterWrite?: boolean; timeoutMs?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { s.destroy(); resolve(Buffer.concat(chunks)) }, opts.timeoutMs ?? 5000)
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', (e) => { clearTimeout(timer); reject(e) })
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)) })
    s.write(data)
    if (opts.endAfterWrite) s.end()
  })
}

/** Splits a buffer holding complete HTTP/1.1 responses with Content-Length bodies. */
export function splitResponses(buf: Buffer): { status: number; headers: Record<string, string>; body: string; head: string }[] {
  const out: { status: number; headers: Record<string, string>; body: string; head: string }[] = []
  let pos = 0
  while (pos < buf.length) {
    const end = buf.indexOf('\r\n\r\n', pos)
    if (end === -1) break
    const head = buf.toString('latin1', pos, end)
    const lines = head.split('\r\n')
    const status = Number(lines[0]!.split(' ')[1])
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':')
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim()
    }
    const len = status === 100 ? 0 : Number(headers['content-length'] ?? 0)
    out.push({ status, headers, head, body: buf.toString('latin1', end + 4, end + 4 + len) })
    pos = end + 4 + len
  }
  return out
}
