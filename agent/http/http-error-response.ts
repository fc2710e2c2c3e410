/**
 * Responses the proxy makes itself: a short text body naming the stable code and what to do,
 * and `x-nodemesh-error: CODE` so clients and dashboards can tell a mesh error from an
 * application one.
 */

export type HttpErrorCode =
  | 'NM_BAD_REQUEST'
  | 'NM_HEADERS_TOO_LARGE'
  | 'NM_HTTP_VERSION_UNSUPPORTED'
  | 'NM_METHOD_NOT_ALLOWED'
  | 'NM_UNKNOWN_SERVICE'
  | 'NM_UNKNOWN_PORT'
  | 'NM_AMBIGUOUS_PORT'
  | 'NM_NOT_HTTP_PORT'
  | 'NM_PROTOCOL_UNSUPPORTED'
  | 'NM_NO_HEALTHY_ENDPOINT'
  | 'NM_UPSTREAM_REFUSED'
  | 'NM_UPSTREAM_TIMEOUT'
  | 'NM_UPSTREAM_BAD_RESPONSE'
  | 'NM_AUTHZ_DENIED'
  | 'NM_NODE_UNKNOWN'
  | 'NM_NO_IDENTITY'

export interface HttpRejection {
  readonly kind: 'reject'
  readonly status: number
  readonly code: HttpErrorCode
  readonly message: string
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  431: 'Request Header Fields Too Large', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
}

export function reject(status: number, code: HttpErrorCode, message: string): HttpRejection {
  return { kind: 'reject', status, code, message }
}

/** The whole response as one latin1 string, written with a single call. */
export function errorResponse(r: HttpRejection, close: boolean): string {
  // Messages may quote client input; keep the body to printable ASCII so it cannot break the framing.
  const body = `${r.code}: ${r.message.replace(/[^\x20-\x7e]/g, '?')}\n`
  const extra = r.status === 405 ? 'Allow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n' : ''
  return `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? 'Error'}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    `x-nodemesh-error: ${r.code}\r\n` +
    extra +
    (close ? 'Connection: close\r\n' : '') +
    `\r\n${body}`
}
