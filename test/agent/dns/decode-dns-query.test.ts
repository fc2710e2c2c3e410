import t from 'tap'
import dnsPacket from 'dns-packet'
import { decodeDnsQuery } from '../../../agent/dns/decode-dns-query'

const good = dnsPacket.encode({ id: 77, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'web.mesh', type: 'A' }] })

t.test('a well-formed query decodes', async (t) => {
  const d = decodeDnsQuery(good)
  t.equal(d.kind, 'query')
  if (d.kind === 'query') t.same(d.packet.questions, [{ name: 'web.mesh', type: 'A', class: 'IN' }])
})

t.test('too short to carry an id: dropped', async (t) => {
  t.equal(decodeDnsQuery(Buffer.alloc(0)).kind, 'drop')
  t.equal(decodeDnsQuery(good.subarray(0, 11)).kind, 'drop')
})

t.test('responses are dropped, never answered', async (t) => {
  const response = dnsPacket.encode({ id: 77, type: 'response', questions: [{ name: 'web.mesh', type: 'A' }] })
  t.equal(decodeDnsQuery(response).kind, 'drop')
})

t.test('a readable header with a broken body is malformed, with its id', async (t) => {
  const cases = {
    'question cut short': good.subarray(0, good.length - 3),
    'question count larger than the body': Buffer.concat([good.subarray(0, 4), Buffer.from([0, 5]), good.subarray(6)]),
    'trailing garbage': Buffer.concat([good, Buffer.from([1, 2, 3])]),
    'bad compression pointer': Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 0xff, 0, 1, 0, 1])]),
  }
  for (const [what, raw] of Object.entries(cases)) {
    const d = decodeDnsQuery(raw)
    t.equal(d.kind, 'malformed', what)
    if (d.kind === 'malformed') t.equal(d.id, 77, `${what}: id kept`)
  }
})
