/**
 * UDP size limits (RFC 1035 4.2.1, RFC 6891 6.2.5): a response that does not fit what the
 * client can receive goes back with TC set and no records, telling it to retry over TCP.
 */
import dnsPacket, { type Answer, type Packet } from 'dns-packet'
import { FLAG_TC, ednsOf } from './build-dns-response'

const CLASSIC_UDP_LIMIT = 512
/** Larger EDNS sizes fragment on real paths; we never send more than this over UDP. */
const MAX_UDP_LIMIT = 4096

/** How many bytes `query`'s sender accepts over UDP. */
export function udpLimitOf(query: Packet | undefined): number {
  const edns = query ? ednsOf(query) : undefined
  if (!edns) return CLASSIC_UDP_LIMIT
  return Math.min(MAX_UDP_LIMIT, Math.max(CLASSIC_UDP_LIMIT, edns.udpPayloadSize))
}

/** `response` itself when it fits, else the header and question only, with TC set. */
export function fitUdpResponse(response: Buffer, limit: number): Buffer {
  if (response.length <= limit) return response
  let packet: Packet
  try {
    packet = dnsPacket.decode(response)
  } catch {
    return headerOnly(response)
  }
  const opt = packet.additionals?.filter((a: Answer) => a.type === 'OPT') ?? []
  const truncated = dnsPacket.encode({
    id: packet.id, type: 'response', flags: (packet.flags ?? 0) | FLAG_TC,
    questions: packet.questions, answers: [], authorities: [], additionals: opt,
  })
  return truncated.length <= limit ? truncated : headerOnly(response)
}

/** Not ours to repair: the header alone (counts zeroed) still tells the client TC. */
function headerOnly(response: Buffer): Buffer {
  const header = Buffer.from(response.subarray(0, 12))
  header.writeUInt16BE(header.readUInt16BE(2) | FLAG_TC, 2)
  header.fill(0, 4, 12)
  return header
}
