/**
 * The header fields the proxy acts on, recognised from the bytes of a field name, case
 * insensitively, without making a string: most fields of a head are only forwarded, and
 * naming each of them would cost a string per field per message.
 */
export const Field = {
  Other: 0,
  ContentLength: 1,
  TransferEncoding: 2,
  Connection: 3,
  Host: 4,
  Upgrade: 5,
  Expect: 6,
  KeepAlive: 7,
  ProxyConnection: 8,
  ProxyAuthorization: 9,
  Te: 10,
  Trailer: 11,
  XForwardedFor: 12,
  XForwardedProto: 13,
} as const
export type FieldId = (typeof Field)[keyof typeof Field]

/** Lowercase names, indexed by FieldId ('' for Other). */
export const FIELD_NAMES: readonly string[] = [
  '', 'content-length', 'transfer-encoding', 'connection', 'host', 'upgrade', 'expect', 'keep-alive',
  'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'x-forwarded-for', 'x-forwarded-proto',
]

/** Hop-by-hop fields (RFC 9110 7.6.1), never forwarded; indexed by FieldId. */
export const HOP_BY_HOP: readonly boolean[] = FIELD_NAMES.map((n) =>
  ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'].includes(n))

interface Candidate { readonly bytes: Uint8Array; readonly id: FieldId }

/** Candidates by name length, so most names are ruled out by their length alone. */
const BY_LENGTH: (Candidate[] | undefined)[] = []
FIELD_NAMES.forEach((name, id) => {
  if (id !== Field.Other) (BY_LENGTH[name.length] ??= []).push({ bytes: Buffer.from(name, 'latin1'), id: id as FieldId })
})

/**
 * Which known field `buf[start, end)` names. The bytes must already be tchars: for those,
 * OR-ing 0x20 lowercases letters and leaves '-' alone, and maps nothing else onto them.
 */
export function classifyFieldName(buf: Buffer, start: number, end: number): FieldId {
  const candidates = BY_LENGTH[end - start]
  if (candidates === undefined) return Field.Other
  outer: for (let k = 0; k < candidates.length; k++) {
    const c = candidates[k]!
    for (let i = 0; i < c.bytes.length; i++) if ((buf[start + i]! | 0x20) !== c.bytes[i]) continue outer
    return c.id
  }
  return Field.Other
}
