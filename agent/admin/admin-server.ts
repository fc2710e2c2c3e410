/**
 * The admin endpoint: debug views and the log level, bound to 127.0.0.1 only (never exposed
 * off the host). node:http is fine here: this is not the request path.
 */
import http from 'node:http'
import type { Logger } from '../observe/logger'

export interface AdminRoutes {
  /** Path -> JSON-ready value; evaluated per request so it always shows the current state. */
  readonly views: Readonly<Record<string, () => unknown>>
  readonly log: Logger
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export async function startAdminServer(port: number, routes: AdminRoutes): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin')
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify(body, null, 2)}\n`)
    }
    if (url.pathname === '/logging') {
      const level = url.searchParams.get('level')
      if (req.method === 'GET' && level === null) return send(200, { level: routes.log.level })
      if ((req.method === 'POST' || req.method === 'PUT') && level !== null && LEVELS.has(level)) {
        routes.log.level = level
        routes.log.warn({ level }, 'log level changed')
        return send(200, { level })
      }
      return send(400, { error: `NM_BAD_ARGUMENT: POST /logging?level=LEVEL with one of ${[...LEVELS].join(', ')}` })
    }
    const view = routes.views[url.pathname]
    if (req.method !== 'GET' || !view) return send(404, { error: 'not found', paths: [...Object.keys(routes.views), '/logging'] })
    send(200, view())
  })
  await listen(server, port, '127.0.0.1')
  return server
}

export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
