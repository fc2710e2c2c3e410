import t from 'tap'
import dnsPacket, { type Answer, type Packet } from 'dns-packet'
import { fitUdpResponse, udpLimitOf } from '../../../agent/dns/fit-udp-response'

const opt = (size: number): Answer => ({ type: 'OPT', name: '.', udpPayloadSize: size, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] })

t.test('UDP limit: 512 without EDNS, the client size with it, within 512..4096', async (t) => {
  const q: Packet = { id: 1, questions: [{ name: 'a', type: 'A' }] }
  t.equal(udpLimitOf(q), 512)
  t.equal(udpLimitOf(undefined), 512)
  t.equal(udpLimitOf({ ...q, additionals: [opt(1232)] }), 1232)
  t.equal(udpLimitOf({ ...q, additionals: [opt(100)] }), 512)
  t.equal(udpLimitOf({ ...q, additionals: [opt(65000)] }), 4096)
})

t.test('a response that fits is untouched; one that does not is cut to the question with TC', async (t) => {
  const answers: Answer[] = Array.from({ length: 60 }, (_, i) => ({ type: 'A', name: 'big.example.com', ttl: 60, data: `10.0.${i >> 8}.${i & 255}` }))
  const big = dnsPacket.encode({ id: 9, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [{ name: 'big.example.com', type: 'A' }], answers })
  t.ok(big.length > 512, 'fixture is over 512 bytes')
  t.equal(fitUdpResponse(big, 4096), big)
  const cut = fitUdpResponse(big, 512)
  t.ok(cut.length <= 512)
  const decoded = dnsPacket.decode(cut)
  t.equal(decoded.id, 9)
  t.ok(decoded.flag_tc)
  t.ok(decoded.flag_ra, 'other flags kept')
  t.same(decoded.answers, [])
  t.same(decoded.questions, [{ name: 'big.example.com', type: 'A', class: 'IN' }])
})

t.test('an undecodable oversized response still comes back as a TC header', async (t) => {
  const junk = Buffer.alloc(600, 0xff)
  junk.writeUInt16BE(0x1234, 0)
  junk.writeUInt16BE(0x8000, 2)
  const cut = fitUdpResponse(junk, 512)
  t.equal(cut.length, 12)
  t.equal(cut.readUInt16BE(0), 0x1234)
  t.ok(cut.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE)
  t.equal(cut.readUInt16BE(4), 0, 'question count zeroed')
})
