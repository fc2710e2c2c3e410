/**
 * Response skeletons shared by the mesh answerer and the server: header flags, rcodes, the
 * EDNS echo, and the minimal error replies sent when a query cannot be decoded.
 */
import type { Answer, OptAnswer, Packet } from 'dns-packet'

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const

export const FLAG_QR = 1 << 15
export const FLAG_AA = 1 << 10
export const FLAG_TC = 1 << 9
export const FLAG_RD = 1 << 8
export const FLAG_RA = 1 << 7
const OPCODE_MASK = 0xf << 11

/** The UDP payload size we advertise in our own OPT records (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232

export function opcodeOf(flags: number | undefined): number {
  return ((flags ?? 0) & OPCODE_MASK) >> 11
}

export function rcodeOf(flags: number | undefined): number {
  return (flags ?? 0) & 0xf
}

/** The client's OPT record, if it sent one. */
export function ednsOf(packet: Packet): OptAnswer | undefined {
  return packet.additionals?.find((a): a is OptAnswer => a.type === 'OPT')
}

export interface ResponseParts {
  readonly rcode: number
  readonly authoritative: boolean
  readonly answers?: readonly Answer[]
  readonly authorities?: readonly Answer[]
  readonly additionals?: readonly Answer[]
  /** EDNS extended rcode bits (upper 8 bits of a 12-bit rcode), e.g. 1 for BADVERS. */
  readonly extendedRcode?: number
}

/**
 * A response to `query`: id, opcode and question copied, RD copied, RA set (we recurse by
 * forwarding), and an OPT echoed when the client spoke EDNS (RFC 6891 6.1.1).
 */
export function responseTo(query: Packet, parts: ResponseParts): Packet {
  const qflags = query.flags ?? 0
  const flags = (qflags & OPCODE_MASK) | (qflags & FLAG_RD) | FLAG_RA
    | (parts.authoritative ? FLAG_AA : 0) | (parts.rcode & 0xf)
  const additionals: Answer[] = [...(parts.additionals ?? [])]
  if (ednsOf(query)) additionals.push(optRecord(parts.extendedRcode ?? 0))
  return {
    id: query.id ?? 0,
    type: 'response',
    flags,
    questions: (query.questions ?? []).map((q) => ({ ...q })),
    answers: [...(parts.answers ?? [])],
    authorities: [...(parts.authorities ?? [])],
    additionals,
  }
}

function optRecord(extendedRcode: number): OptAnswer {
  return {
    type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode,
    ednsVersion: 0, flags: 0, flag_do: false, options: [],
  }
}

/**
 * A bare header-only reply built from raw bytes, for packets that do not decode: only the id
 * and RD can be trusted, so that is all that is echoed. Null when the id is not readable.
 */
export function rawErrorResponse(raw: Buffer, rcode: number): Buffer | null {
  if (raw.length < 12) return null
  const out = Buffer.alloc(12)
  out.writeUInt16BE(raw.readUInt16BE(0), 0)
  const qflags = raw.readUInt16BE(2)
  out.writeUInt16BE(FLAG_QR | (qflags & OPCODE_MASK) | (qflags & FLAG_RD) | FLAG_RA | (rcode & 0xf), 2)
  return out
}
