/**
 * Classifies raw bytes from a client before anything else looks at them, so a malformed
 * packet becomes a value (answer FORMERR, or drop) instead of an exception in the server.
 */
import dnsPacket, { type Packet } from 'dns-packet'
import { FLAG_QR } from './build-dns-response'

export type DecodedQuery =
  | { readonly kind: 'query'; readonly packet: Packet }
  /** Undecodable, but the header is there: worth a FORMERR carrying the id. */
  | { readonly kind: 'malformed'; readonly id: number; readonly reason: string }
  /** Too short to hold an id, or a response (answering those invites reflection loops). */
  | { readonly kind: 'drop'; readonly reason: string }

export function decodeDnsQuery(raw: Buffer): DecodedQuery {
  if (raw.length < 12) return { kind: 'drop', reason: `packet of ${raw.length} bytes is shorter than a DNS header` }
  if (raw.readUInt16BE(2) & FLAG_QR) return { kind: 'drop', reason: 'packet is a response, not a query' }
  try {
    const packet = dnsPacket.decode(raw)
    if (dnsPacket.decode.bytes !== raw.length) {
      return { kind: 'malformed', id: raw.readUInt16BE(0), reason: `${raw.length - dnsPacket.decode.bytes} trailing bytes after the message` }
    }
    return { kind: 'query', packet }
  } catch (err) {
    return { kind: 'malformed', id: raw.readUInt16BE(0), reason: (err as Error).message }
  }
}
