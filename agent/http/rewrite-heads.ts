/**
 * Rewrites heads between hops (RFC 9110 7.6.1): hop-by-hop fields are dropped both ways, the
 * rest is forwarded byte-exact in order. Upstream requests gain X-Forwarded-For and
 * X-Forwarded-Proto; client responses say whether the connection stays open.
 * Transfer-Encoding is kept: chunked bytes pass through as they are.
 */
import type { HttpHeader, RequestHead, ResponseHead } from './http-head'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'])
/** Framing fields cannot be removed by naming them in Connection (a known smuggling trick). */
const NEVER_DROPPED = new Set(['transfer-encoding', 'content-length', 'host'])

function dropped(f: HttpHeader, named: readonly string[]): boolean {
  if (HOP_BY_HOP.has(f.lower)) return true
  return named.length > 0 && named.includes(f.lower) && !NEVER_DROPPED.has(f.lower)
}

/**
 * The head to send upstream, to the request's origin-form path. `host` replaces the Host value
 * (absolute-form requests, RFC 9112 3.2.2) or is undefined to keep the client's.
 * `clientAddress` undefined leaves X-Forwarded-For as it came (the destination side of the
 * tunnel: the source agent already added the client).
 */
export function buildUpstreamHead(head: RequestHead, host: string | undefined, clientAddress: string | undefined): string {
  const headers = head.headers
  let xff = -1
  if (clientAddress !== undefined) for (let i = 0; i < headers.length; i++) if (headers[i]!.lower === 'x-forwarded-for') xff = i
  let out = `${head.method} ${head.path} HTTP/1.${head.versionMinor}\r\n`
  let hostWritten = false
  let hasProto = false
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i]!
    if (dropped(f, head.connection)) continue
    if (f.lower === 'host' && host !== undefined) {
      out += `${f.name}: ${host}\r\n`
      hostWritten = true
    } else if (i === xff) {
      out += f.value === '' ? `${f.name}: ${clientAddress}\r\n` : `${f.name}: ${f.value}, ${clientAddress}\r\n`
    } else {
      if (f.lower === 'x-forwarded-proto') hasProto = true
      out += `${f.raw}\r\n`
    }
  }
  if (host !== undefined && !hostWritten) out += `Host: ${host}\r\n`
  if (xff === -1 && clientAddress !== undefined) out += `X-Forwarded-For: ${clientAddress}\r\n`
  if (!hasProto) out += 'X-Forwarded-Proto: http\r\n'
  if (head.upgrade !== undefined) out += `Connection: Upgrade\r\nUpgrade: ${head.upgrade}\r\n`
  return `${out}\r\n`
}

export type ClientConnectionHeader = 'close' | 'keep-alive' | 'upgrade' | 'none'

/**
 * The response head for the client. `connection` is what to announce: `close` when the proxy
 * will close after this response, `keep-alive` for HTTP/1.0 clients that keep it open,
 * `upgrade` for a 101.
 */
export function buildClientResponseHead(res: ResponseHead, connection: ClientConnectionHeader): string {
  let out = `${res.statusLine}\r\n`
  const headers = res.headers
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i]!
    if (connection === 'upgrade' && f.lower === 'upgrade') out += `${f.raw}\r\n`
    else if (!dropped(f, res.connection)) out += `${f.raw}\r\n`
  }
  if (connection === 'close') out += 'Connection: close\r\n'
  else if (connection === 'keep-alive') out += 'Connection: keep-alive\r\n'
  else if (connection === 'upgrade') out += 'Connection: Upgrade\r\n'
  return `${out}\r\n`
}
