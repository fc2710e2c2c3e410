/**
 * Strict, pure HTTP/1.1 head parser (RFC 9112) working on Buffers. It returns a value: a
 * complete head with its header list and body framing, 'incomplete' (wait for more bytes),
 * or an error carrying the status to answer with. Anything that could let two parties
 * disagree on where a message ends (request smuggling) is refused rather than repaired.
 */
import { COLON, COMMA, CR, FIELD_VALUE, HT, LF, SP, TOKEN } from './http-chars'
import {
  CHUNKED, DEFAULT_HEAD_LIMITS, HttpHeader, INCOMPLETE, NO_BODY, UNTIL_CLOSE,
  type BodyFraming, type HeadError, type HeadLimits, type HeadParse, type RequestHead, type ResponseHead,
} from './http-head'
import { classifyFieldName, Field } from './field-names'
import { classifyTarget, isValidHost } from './parse-request-target'

const TOO_LARGE = -2
const NOT_YET = -1

export function parseRequestHead(buf: Buffer, limits: HeadLimits = DEFAULT_HEAD_LIMITS): HeadParse<RequestHead> {
  // RFC 9112 2.2: empty lines before a request-line are ignored (some clients send CRLF after a body).
  let start = 0
  while (start < buf.length && (buf[start] === LF || buf[start] === CR)) {
    if (buf[start] === LF) start++
    else if (start + 1 >= buf.length) return INCOMPLETE
    else if (buf[start + 1] === LF) start += 2
    else return fail(400, 'bare CR in request head')
    if (start > limits.maxHeadBytes) return fail(431, 'request head too large')
  }
  const end = findHeadEnd(buf, start, limits)
  if (end === NOT_YET) return INCOMPLETE
  if (end === TOO_LARGE) return fail(431, `request head larger than ${limits.maxHeadBytes} bytes or ${limits.maxHeaders} header fields`)

  const lineEnd = endOfLine(buf, start)
  const le = lineEnd.end
  // request-line = method SP request-target SP HTTP-version
  let i = start
  while (i < le && TOKEN[buf[i]!] === 1) i++
  if (i === start || i >= le || buf[i] !== SP) return fail(400, badByteReason(buf[i], 'invalid method in request line'))
  const method = buf.toString('latin1', start, i)
  const ts = ++i
  while (i < le && buf[i] !== SP) {
    const c = buf[i]!
    if (c < 0x21 || c > 0x7e) return fail(400, badByteReason(c, 'invalid byte in request-target'))
    i++
  }
  if (i === ts || i >= le) return fail(400, 'malformed request line (want METHOD SP TARGET SP HTTP/1.1)')
  const target = buf.toString('latin1', ts, i)
  const version = parseVersion(buf, i + 1, le)
  if (version === -400) {
    for (let j = i + 1; j < le; j++) if (FIELD_VALUE[buf[j]!] !== 1 || buf[j] === HT) return fail(400, badByteReason(buf[j], 'malformed HTTP version in request line'))
    return fail(400, 'malformed HTTP version in request line')
  }
  if (version === -505) return fail(505, 'only HTTP/1.0 and HTTP/1.1 are supported on this port')
  const versionMinor = version as 0 | 1

  const t = classifyTarget(method, target)
  if (typeof t === 'string') return fail(400, t)

  const fields = parseFields(buf, lineEnd.next, end, 400)
  if (!Array.isArray(fields)) return fields as HeadError
  const info = scanFields(fields, 400)
  if (info.error !== undefined) return info.error

  if (info.hostCount > 1) return fail(400, 'more than one Host header')
  if (info.hostCount === 0 && versionMinor === 1) return fail(400, 'HTTP/1.1 request without a Host header')
  if (info.host !== undefined && !isValidHost(info.host)) return fail(400, 'invalid Host header')

  let framing: BodyFraming = NO_BODY
  if (info.te !== undefined) {
    if (info.cl !== undefined) return fail(400, 'both Content-Length and Transfer-Encoding present')
    if (versionMinor === 0) return fail(400, 'Transfer-Encoding in an HTTP/1.0 request')
    if (!chunkedLast(info.te)) return fail(400, 'Transfer-Encoding must end with chunked (and name it once)')
    framing = CHUNKED
  } else if (info.cl !== undefined) {
    const n = contentLength(info.cl)
    if (n === -1) return fail(400, 'invalid Content-Length')
    if (n === -2) return fail(400, 'differing Content-Length values')
    if (n > 0) framing = { kind: 'length', length: n }
  }

  const connection = info.connection
  const close = connection.includes('close')
  const keepAlive = versionMinor === 1 ? !close : !close && connection.includes('keep-alive')
  const upgrade = info.upgrade !== undefined && connection.includes('upgrade') ? info.upgrade : undefined
  return {
    kind: 'complete',
    head: {
      method, target, targetForm: t.form, authority: t.authority, scheme: t.scheme, path: t.path,
      versionMinor, headers: fields, framing, keepAlive, connection, upgrade, host: info.host,
      expectContinue: info.expectContinue, headLength: end,
    },
  }
}

/**
 * Parses an upstream response head. Framing depends on the request it answers (HEAD has no
 * body), so the method comes in. Every problem is a 502 for the client.
 */
export function parseResponseHead(buf: Buffer, requestMethod: string, limits: HeadLimits = DEFAULT_HEAD_LIMITS): HeadParse<ResponseHead> {
  const end = findHeadEnd(buf, 0, limits)
  if (end === NOT_YET) return INCOMPLETE
  if (end === TOO_LARGE) return fail(502, 'upstream response head too large')
  const { end: le, next } = endOfLine(buf, 0)
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]; a missing SP before an empty reason is tolerated.
  const version = parseVersion(buf, 0, Math.min(8, le))
  if (version < 0 || le < 12 || buf[8] !== SP) return fail(502, 'malformed upstream status line')
  const d0 = buf[9]! - 0x30, d1 = buf[10]! - 0x30, d2 = buf[11]! - 0x30
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return fail(502, 'invalid upstream status code')
  if (le > 12 && buf[12] !== SP) return fail(502, 'malformed upstream status line')
  for (let i = 13; i < le; i++) {
    if (FIELD_VALUE[buf[i]!] !== 1) return fail(502, badByteReason(buf[i], 'invalid byte in upstream reason phrase'))
  }
  const status = d0 * 100 + d1 * 10 + d2
  const versionMinor = version as 0 | 1
  const fields = parseFields(buf, next, end, 502)
  if (!Array.isArray(fields)) return fields as HeadError
  const info = scanFields(fields, 502)
  if (info.error !== undefined) return info.error

  let framing: BodyFraming = UNTIL_CLOSE
  if (status < 200 || status === 204 || status === 304 || requestMethod === 'HEAD') framing = NO_BODY
  else if (info.te !== undefined) {
    if (info.cl !== undefined) return fail(502, 'upstream sent both Content-Length and Transfer-Encoding')
    if (chunkedLast(info.te)) framing = CHUNKED
    else if (lastCoding(info.te) === 'chunked') return fail(502, 'upstream applied chunked more than once')
  } else if (info.cl !== undefined) {
    const n = contentLength(info.cl)
    if (n < 0) return fail(502, 'invalid upstream Content-Length')
    framing = n > 0 ? { kind: 'length', length: n } : NO_BODY
  }
  const connection = info.connection
  const close = connection.includes('close')
  const keepAlive = framing !== UNTIL_CLOSE && (versionMinor === 1 ? !close : !close && connection.includes('keep-alive'))
  return {
    kind: 'complete',
    head: { status, versionMinor, src: buf, statusLineEnd: le, headers: fields, framing, keepAlive, connection, headLength: end },
  }
}

function fail(status: HeadError['status'], reason: string): HeadError {
  return { kind: 'error', status, reason }
}

function badByteReason(c: number | undefined, otherwise: string): string {
  if (c === CR) return 'bare CR in head (lines must end with CRLF)'
  if (c === 0) return 'NUL byte in head'
  if (c !== undefined && (c < 0x20 || c === 0x7f) && c !== HT) return 'control character in head'
  return otherwise
}

/**
 * Offset just past the empty line that ends the head, NOT_YET, or TOO_LARGE. Only looks for
 * line feeds here; the bytes of each line are validated by the second pass.
 */
function findHeadEnd(buf: Buffer, start: number, limits: HeadLimits): number {
  const max = start + limits.maxHeadBytes
  let lines = 0
  let lf = buf.indexOf(LF, start)
  while (lf !== -1) {
    if (lf >= max || ++lines > limits.maxHeaders + 1) return TOO_LARGE
    const n = lf + 1
    if (n >= buf.length) return NOT_YET
    if (buf[n] === LF) return n + 1 > max ? TOO_LARGE : n + 1
    if (buf[n] === CR) {
      if (n + 1 >= buf.length) return NOT_YET
      if (buf[n + 1] === LF) return n + 2 > max ? TOO_LARGE : n + 2
    }
    lf = buf.indexOf(LF, n)
  }
  return buf.length - start > limits.maxHeadBytes ? TOO_LARGE : NOT_YET
}

/** End of the line starting at `pos` (excluding CRLF or LF) and the start of the next one. */
function endOfLine(buf: Buffer, pos: number): { end: number; next: number } {
  const lf = buf.indexOf(LF, pos)
  return { end: lf > pos && buf[lf - 1] === CR ? lf - 1 : lf, next: lf + 1 }
}

/** Minor version for HTTP/1.0 or HTTP/1.1, -505 for other well-formed versions, -400 otherwise. */
function parseVersion(buf: Buffer, s: number, e: number): number {
  if (e - s !== 8 || buf[s] !== 0x48 || buf[s + 1] !== 0x54 || buf[s + 2] !== 0x54 || buf[s + 3] !== 0x50 ||
    buf[s + 4] !== 0x2f || buf[s + 6] !== 0x2e) return -400
  const major = buf[s + 5]! - 0x30
  const minor = buf[s + 7]! - 0x30
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return -400
  return major === 1 && minor <= 1 ? minor : -505
}

function parseFields(buf: Buffer, pos: number, end: number, status: 400 | 502): HttpHeader[] | HeadError {
  const fields: HttpHeader[] = []
  while (pos < end) {
    const lf = buf.indexOf(LF, pos)
    const le = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf
    if (le === pos) break // the empty line ending the head
    const first = buf[pos]
    if (first === SP || first === HT) return fail(status, 'obsolete line folding (header line starting with whitespace)')
    let i = pos
    while (i < le && TOKEN[buf[i]!] === 1) i++
    if (i >= le) return fail(status, 'header line without a colon')
    const c = buf[i]
    if (c !== COLON) {
      if (c === SP || c === HT) return fail(status, 'whitespace between header name and colon')
      return fail(status, badByteReason(c, 'invalid character in header name'))
    }
    if (i === pos) return fail(status, 'empty header name')
    let vs = i + 1
    for (let j = vs; j < le; j++) {
      if (FIELD_VALUE[buf[j]!] !== 1) return fail(status, badByteReason(buf[j], 'invalid byte in header value'))
    }
    while (vs < le && (buf[vs] === SP || buf[vs] === HT)) vs++
    let ve = le
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--
    fields.push(new HttpHeader(buf, pos, i, vs, ve, le, classifyFieldName(buf, pos, i)))
    pos = lf + 1
  }
  return fields
}

interface FieldInfo {
  cl: HttpHeader[] | undefined
  te: string[] | undefined
  connection: string[]
  host: string | undefined
  hostCount: number
  upgrade: string | undefined
  expectContinue: boolean
  /** Set when a field is malformed in a way the framing depends on. */
  error: HeadError | undefined
}

/** Collects the fields that decide framing and connection handling. */
function scanFields(fields: readonly HttpHeader[], status: 400 | 502): FieldInfo {
  const info: FieldInfo = { cl: undefined, te: undefined, connection: [], host: undefined, hostCount: 0, upgrade: undefined, expectContinue: false, error: undefined }
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!
    switch (f.field) {
      case Field.ContentLength: (info.cl ??= []).push(f); break
      case Field.TransferEncoding:
        for (const part of f.value.split(',')) {
          const v = part.trim().toLowerCase()
          if (v !== '') (info.te ??= []).push(v)
        }
        if (info.te === undefined) info.error = fail(status, 'empty Transfer-Encoding')
        break
      case Field.Connection: connectionTokens(f, info.connection); break
      case Field.Host: info.host = f.value; info.hostCount++; break
      case Field.Upgrade: info.upgrade = f.value; break
      case Field.Expect: info.expectContinue = f.value.toLowerCase() === '100-continue'; break
    }
  }
  return info
}

/** Content-Length from its fields: the length, -1 if invalid, -2 if values differ. Read from the bytes. */
function contentLength(fields: readonly HttpHeader[]): number {
  let n = -3
  for (const f of fields) {
    const src = f.src
    const end = f.valueEnd
    let i = f.valueStart
    for (;;) { // one element of a comma-separated list
      while (i < end && (src[i] === SP || src[i] === HT)) i++
      const digitsStart = i
      let x = 0
      for (let c = src[i]!; i < end && c >= 0x30 && c <= 0x39; c = src[++i]!) x = x * 10 + (c - 0x30)
      const digits = i - digitsStart
      while (i < end && (src[i] === SP || src[i] === HT)) i++
      // At most 15 digits keeps the value an exact integer.
      if (digits === 0 || digits > 15 || (i < end && src[i] !== COMMA)) return -1
      if (n !== -3 && x !== n) return -2
      n = x
      if (i++ >= end) break
    }
  }
  return n
}

/** Connection tokens that need no string of their own: most heads carry one of these. */
const COMMON_TOKENS = ['close', 'keep-alive', 'upgrade'].map((t) => ({ text: t, bytes: Buffer.from(t, 'latin1') }))

/** Appends the lowercase tokens of a Connection field to `out`, skipping empty list elements. */
function connectionTokens(f: HttpHeader, out: string[]): void {
  const src = f.src
  const end = f.valueEnd
  let i = f.valueStart
  while (i < end) {
    let s = i
    while (i < end && src[i] !== COMMA) i++
    let e = i++
    while (s < e && (src[s] === SP || src[s] === HT)) s++
    while (e > s && (src[e - 1] === SP || src[e - 1] === HT)) e--
    if (s < e) out.push(commonToken(src, s, e) ?? src.toString('latin1', s, e).toLowerCase())
  }
}

function commonToken(src: Buffer, s: number, e: number): string | undefined {
  outer: for (const t of COMMON_TOKENS) {
    if (t.bytes.length !== e - s) continue
    for (let k = 0; k < t.bytes.length; k++) {
      const c = src[s + k]!
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== t.bytes[k]) continue outer
    }
    return t.text
  }
  return undefined
}

function lastCoding(te: readonly string[]): string {
  const last = te[te.length - 1]!
  const semi = last.indexOf(';')
  return (semi === -1 ? last : last.slice(0, semi)).trim()
}

/** chunked is the final coding and appears exactly once. */
function chunkedLast(te: readonly string[]): boolean {
  if (lastCoding(te) !== 'chunked') return false
  for (let k = 0; k < te.length - 1; k++) if (te[k]!.split(';')[0]!.trim() === 'chunked') return false
  return true
}
