/**
 * The path that authorization rules are matched against, normalized the way Envoy does for
 * Istio (RFC 3986 normalization, `merge_slashes`, `DECODE_AND_MERGE_SLASHES`), so that a rule
 * on `/admin` cannot be sidestepped by spelling the same resource differently
 * (`//admin`, `/a/../admin`, `/admin%2Fx`, `/%61dmin`). Only matching uses the result: the
 * request is forwarded as the client sent it. Case is kept (`/Admin` is another path).
 */

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string }

const HEX = /^[0-9A-Fa-f]{2}$/
/** RFC 3986 unreserved characters: decoding them never changes what a path means. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/
/** `scheme://authority` of an absolute-form target (a request sent to a proxy). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/

function bad(reason: string): NormalizedPath {
  return { ok: false, reason }
}

/**
 * Normalizes an HTTP request target (origin-form `/a/b?q`, absolute-form `http://h/a/b`, or
 * `*`). Refuses (the request then gets 400) control characters, spaces, NUL in any spelling,
 * bad percent-encodings and targets that are not paths.
 */
export function normalizeRequestPath(rawTarget: string): NormalizedPath {
  if (rawTarget === '*') return { ok: true, path: '*' }
  for (let i = 0; i < rawTarget.length; i++) {
    const c = rawTarget.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f) return bad(`the request target holds a control character or space at offset ${i}`)
  }
  let target = rawTarget
  const abs = ABSOLUTE_FORM.exec(target)
  // After the authority comes `/`, `?`, `#` or nothing: an empty path is `/`.
  if (abs) target = `/${target.slice(abs[0].length).replace(/^\//, '')}`
  // Query and fragment are not part of the path (a fragment should never be sent at all).
  const end = target.search(/[?#]/)
  if (end >= 0) target = target.slice(0, end)
  if (!target.startsWith('/')) return bad('the request target must be a path starting with "/"')

  const decoded = decodeSafely(target)
  if (!decoded.ok) return decoded
  // Backslashes are separators to some servers (IIS, some frameworks): treat them as one here too.
  const segments = decoded.path.replace(/\\/g, '/').split('/')
  const out: string[] = []
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string
    const last = i === segments.length - 1
    if (seg === '..') {
      out.pop() // never above the root
      if (last) out.push('')
    } else if (seg === '.') {
      if (last) out.push('')
    } else if (seg === '' && !last) {
      continue // merge `//`
    } else {
      out.push(seg)
    }
  }
  return { ok: true, path: `/${out.join('/')}` }
}

/**
 * One pass of percent-decoding: unreserved characters, `/` and `\` are decoded (so they take
 * part in slash merging and dot-segment removal); everything else stays encoded with its hex
 * in upper case. One pass only: `%252F` is the literal `%2F`, never a slash.
 */
function decodeSafely(path: string): NormalizedPath {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string
    if (ch !== '%') { out += ch; continue }
    const hex = path.slice(i + 1, i + 3)
    if (!HEX.test(hex)) return bad(`the request path holds an invalid percent-encoding at offset ${i}`)
    const code = parseInt(hex, 16)
    if (code === 0) return bad('the request path holds an encoded NUL (%00)')
    const decodedChar = String.fromCharCode(code)
    out += UNRESERVED.test(decodedChar) || code === 0x2f || code === 0x5c ? decodedChar : `%${hex.toUpperCase()}`
    i += 2
  }
  return { ok: true, path: out }
}
