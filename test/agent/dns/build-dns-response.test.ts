import t from 'tap'
import dnsPacket from 'dns-packet'
import { RCODE, rawErrorResponse } from '../../../agent/dns/build-dns-response'

t.test('rawErrorResponse keeps id, opcode and RD, sets QR, RA and the rcode', async (t) => {
  const raw = Buffer.alloc(20, 0xab)
  raw.writeUInt16BE(0xbeef, 0)
  raw.writeUInt16BE((2 << 11) | dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHORITATIVE_ANSWER, 2)
  const out = rawErrorResponse(raw, RCODE.FORMERR)!
  const decoded = dnsPacket.decode(out)
  t.equal(decoded.id, 0xbeef)
  t.equal(decoded.type, 'response')
  t.ok(decoded.flag_rd)
  t.ok(decoded.flag_ra)
  t.notOk(decoded.flag_aa, 'only trusted bits are echoed')
  t.equal((decoded as unknown as { rcode: string }).rcode, 'FORMERR')
  t.equal((decoded as unknown as { opcode: string }).opcode, 'STATUS')
  t.same(decoded.questions, [])
  t.equal(rawErrorResponse(Buffer.alloc(5), RCODE.FORMERR), null, 'no id, no reply')
})
