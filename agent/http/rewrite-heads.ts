/**
 * Rewrites heads between hops (RFC 9110 7.6.1): hop-by-hop fields are dropped both ways, the
 * rest is forwarded byte-exact in order. Upstream requests gain X-Forwarded-For and
 * X-Forwarded-Proto; client responses say whether the connection stays open.
 * Transfer-Encoding is kept: chunked bytes pass through as they are.
 */
import { Field, HOP_BY_HOP } from './field-names'
import { HeadWriter } from './head-writer'
import type { HttpHeader, RequestHead, ResponseHead } from './http-head'

const writer = new HeadWriter()

function dropped(f: HttpHeader, named: readonly string[]): boolean {
  if (HOP_BY_HOP[f.field]) return true
  // Framing fields cannot be removed by naming them in Connection (a known smuggling trick).
  if (named.length === 0 || f.field === Field.ContentLength || f.field === Field.TransferEncoding || f.field === Field.Host) return false
  for (let i = 0; i < named.length; i++) if (named[i]!.length === f.nameLength && named[i] === f.lower) return true
  return false
}

/**
 * The head to send upstream, to the request's origin-form path. `host` replaces the Host value
 * (absolute-form requests, RFC 9112 3.2.2) or is undefined to keep the client's.
 * `clientAddress` undefined leaves X-Forwarded-For as it came (the destination side of the
 * tunnel: the source agent already added the client).
 */
export function buildUpstreamHead(head: RequestHead, host: string | undefined, clientAddress: string | undefined): Buffer {
  const headers = head.headers
  let xff = -1
  if (clientAddress !== undefined) for (let i = 0; i < headers.length; i++) if (headers[i]!.field === Field.XForwardedFor) xff = i
  const w = writer.start()
  w.text(`${head.method} ${head.path} HTTP/1.${head.versionMinor}\r\n`)
  let hostWritten = false
  let hasProto = false
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i]!
    if (dropped(f, head.connection)) continue
    if (f.field === Field.Host && host !== undefined) {
      w.text(`${f.name}: ${host}\r\n`)
      hostWritten = true
    } else if (i === xff) {
      w.text(f.valueStart === f.valueEnd ? `${f.name}: ${clientAddress}\r\n` : `${f.name}: ${f.value}, ${clientAddress}\r\n`)
    } else {
      if (f.field === Field.XForwardedProto) hasProto = true
      w.line(f.src, f.start, f.end)
    }
  }
  if (host !== undefined && !hostWritten) w.text(`Host: ${host}\r\n`)
  if (xff === -1 && clientAddress !== undefined) w.text(`X-Forwarded-For: ${clientAddress}\r\n`)
  if (!hasProto) w.text('X-Forwarded-Proto: http\r\n')
  if (head.upgrade !== undefined) w.text(`Connection: Upgrade\r\nUpgrade: ${head.upgrade}\r\n`)
  w.text('\r\n')
  return w.finish()
}

export type ClientConnectionHeader = 'close' | 'keep-alive' | 'upgrade' | 'none'

const CONNECTION_LINE: Record<ClientConnectionHeader, string> = {
  close: 'Connection: close\r\n\r\n',
  'keep-alive': 'Connection: keep-alive\r\n\r\n',
  upgrade: 'Connection: Upgrade\r\n\r\n',
  none: '\r\n',
}

/**
 * The response head for the client, followed by body[0, bodyEnd) when given. `connection` is
 * what to announce: `close` when the proxy will close after this response, `keep-alive` for
 * HTTP/1.0 clients that keep it open, `upgrade` for a 101.
 */
export function buildClientResponseHead(res: ResponseHead, connection: ClientConnectionHeader, body: Buffer | null = null, bodyEnd = 0): Buffer {
  const w = writer.start()
  w.line(res.src, 0, res.statusLineEnd)
  const headers = res.headers
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i]!
    if ((connection === 'upgrade' && f.field === Field.Upgrade) || !dropped(f, res.connection)) w.line(f.src, f.start, f.end)
  }
  w.text(CONNECTION_LINE[connection])
  return w.finish(body, bodyEnd)
}
