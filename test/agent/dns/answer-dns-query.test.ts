import t from 'tap'
import type { Packet, Question, SoaAnswer, SrvAnswer } from 'dns-packet'
import { answerDnsQuery, labelsUnder, MESH_TTL_SECONDS } from '../../../agent/dns/answer-dns-query'
import { FLAG_AA, FLAG_RA, FLAG_RD, rcodeOf } from '../../../agent/dns/build-dns-response'
import { answerData } from './dns-test-client'
import { DB, meshTable, service, TABLE, WEB } from './mesh-table'

function query(name: string, type: string, extra: Partial<Packet> = {}): Packet {
  return { id: 4242, type: 'query', flags: FLAG_RD, questions: [{ name, type, class: 'IN' } as Question], ...extra }
}

function answered(packet: Packet, table = TABLE): { response: Packet; outcome: string } {
  const d = answerDnsQuery(table, packet)
  if (d.kind !== 'answer') throw new Error(`expected an answer for ${JSON.stringify(packet.questions)}, got forward`)
  return d
}

t.test('A for mesh names resolves to the VIP with a 5 s TTL', async (t) => {
  const cases: [string, string][] = [
    ['web.mesh', WEB.vip], ['web.default.mesh', WEB.vip], ['db.data.mesh', DB.vip],
    ['WEB.Mesh', WEB.vip], ['web.mesh.', WEB.vip], ['Db.DATA.mesh.', DB.vip],
  ]
  for (const [name, vip] of cases) {
    const { response, outcome } = answered(query(name, 'A'))
    t.equal(outcome, 'answer', name)
    t.equal(rcodeOf(response.flags), 0, `${name} NOERROR`)
    t.same(response.answers, [{ type: 'A', name, class: 'IN', ttl: MESH_TTL_SECONDS, data: vip }], `${name} answer keeps the asked spelling`)
    t.ok((response.flags ?? 0) & FLAG_AA, `${name} authoritative`)
  }
})

t.test('response header: id and question copied, QR, RD copied, RA set', async (t) => {
  const { response } = answered(query('web.mesh', 'A'))
  t.equal(response.id, 4242)
  t.equal(response.type, 'response')
  t.same(response.questions, [{ name: 'web.mesh', type: 'A', class: 'IN' }])
  t.ok((response.flags ?? 0) & FLAG_RD)
  t.ok((response.flags ?? 0) & FLAG_RA)
  const noRd = answered({ ...query('web.mesh', 'A'), flags: 0 }).response
  t.notOk((noRd.flags ?? 0) & FLAG_RD, 'RD is copied, not forced')
})

t.test('a service outside the default namespace has no short name', async (t) => {
  const { response, outcome } = answered(query('db.mesh', 'A'))
  t.equal(outcome, 'nxdomain')
  t.equal(rcodeOf(response.flags), 3)
})

t.test('AAAA and other types for an existing name: NODATA with the SOA', async (t) => {
  for (const type of ['AAAA', 'TXT', 'MX']) {
    const { response, outcome } = answered(query('web.default.mesh', type))
    t.equal(outcome, 'nodata', type)
    t.equal(rcodeOf(response.flags), 0)
    t.same(response.answers, [])
    const soa = response.authorities?.[0] as SoaAnswer
    t.equal(soa.type, 'SOA')
    t.equal(soa.name, 'mesh')
    t.equal(soa.data.minimum, MESH_TTL_SECONDS)
  }
})

t.test('an IPv6 VIP answers AAAA and leaves A empty', async (t) => {
  const v6 = meshTable([service('api', 'default', 'fd00::5', [['http', 80, 'http']])])
  t.same(answerData(answered(query('api.mesh', 'AAAA'), v6).response)[0], 'fd00::5')
  t.equal(answered(query('api.mesh', 'A'), v6).outcome, 'nodata')
})

t.test('unknown mesh names: NXDOMAIN with the mesh SOA for negative caching', async (t) => {
  for (const name of ['nope.mesh', 'nope.default.mesh', 'x.web.default.mesh', 'web.other.mesh']) {
    const { response, outcome } = answered(query(name, 'A'))
    t.equal(outcome, 'nxdomain', name)
    t.equal(rcodeOf(response.flags), 3)
    const soa = response.authorities?.[0] as SoaAnswer
    t.equal(soa.type, 'SOA')
    t.equal(soa.ttl, MESH_TTL_SECONDS)
    t.equal(soa.data.serial, TABLE.revision)
    t.ok((response.flags ?? 0) & FLAG_AA)
  }
})

t.test('a namespace name exists (it has services below it) but holds no records', async (t) => {
  t.equal(answered(query('data.mesh', 'A')).outcome, 'nodata')
  t.equal(answered(query('default.mesh', 'A')).outcome, 'nodata')
})

t.test('SRV for a named port, with the target and its A record in additionals', async (t) => {
  for (const name of ['_http._tcp.web.default.mesh', '_http._tcp.web.mesh', '_HTTP._TCP.Web.Mesh.']) {
    const { response, outcome } = answered(query(name, 'SRV'))
    t.equal(outcome, 'answer', name)
    const srv = response.answers?.[0] as SrvAnswer
    t.same(srv.data, { priority: 0, weight: 0, port: 8080, target: 'web.default.mesh' }, name)
    t.equal(srv.ttl, MESH_TTL_SECONDS)
    t.same(response.additionals, [{ type: 'A', name: 'web.default.mesh', class: 'IN', ttl: MESH_TTL_SECONDS, data: WEB.vip }])
  }
  const grpc = answered(query('_grpc-api._tcp.web.mesh', 'SRV')).response.answers?.[0] as SrvAnswer
  t.equal(grpc.data.port, 9090)
  const pg = answered(query('_postgres._tcp.db.data.mesh', 'SRV')).response.answers?.[0] as SrvAnswer
  t.same(pg.data, { priority: 0, weight: 0, port: 5432, target: 'db.data.mesh' })
})

t.test('SRV misses', async (t) => {
  t.equal(answered(query('_nope._tcp.web.mesh', 'SRV')).outcome, 'nxdomain', 'unknown port name')
  t.equal(answered(query('_http._udp.web.mesh', 'SRV')).outcome, 'nxdomain', 'mesh ports are TCP')
  t.equal(answered(query('_http._tcp.nope.mesh', 'SRV')).outcome, 'nxdomain', 'unknown service')
  t.equal(answered(query('_http._tcp.web.mesh', 'A')).outcome, 'nodata', 'SRV name asked for A')
  t.equal(answered(query('_tcp.web.mesh', 'SRV')).outcome, 'nodata', '_tcp is an empty non-terminal')
  t.equal(answered(query('web.mesh', 'SRV')).outcome, 'nodata', 'no SRV at the service name')
})

t.test('the bare mesh domain answers SOA and NS, NODATA otherwise', async (t) => {
  const soa = answered(query('mesh', 'SOA'))
  t.equal(soa.outcome, 'answer')
  t.equal(soa.response.answers?.[0]?.type, 'SOA')
  const ns = answered(query('MESH.', 'NS'))
  t.equal(ns.outcome, 'answer')
  t.equal(ns.response.answers?.[0]?.type, 'NS')
  const a = answered(query('mesh', 'A'))
  t.equal(a.outcome, 'nodata')
  t.equal(rcodeOf(a.response.flags), 0)
  t.equal(a.response.authorities?.[0]?.type, 'SOA')
})

t.test('a configured domain replaces mesh', async (t) => {
  const table = meshTable([WEB], 'svc.internal')
  t.equal(answerData(answered(query('web.svc.internal', 'A'), table).response)[0], WEB.vip)
  t.same(answerDnsQuery(table, query('web.mesh', 'A')), { kind: 'forward' })
  t.equal((answered(query('nope.svc.internal', 'A'), table).response.authorities?.[0] as SoaAnswer).name, 'svc.internal')
})

t.test('names outside the mesh domain are forwarded', async (t) => {
  for (const name of ['example.com', 'mesh.example.com', 'notmesh', 'web.meshy', '.']) {
    t.same(answerDnsQuery(TABLE, query(name, 'A')), { kind: 'forward' }, name)
  }
})

t.test('FORMERR for zero or several questions, NOTIMP for other opcodes', async (t) => {
  const none = answered({ id: 1, type: 'query', flags: FLAG_RD, questions: [] })
  t.equal(none.outcome, 'formerr')
  t.equal(rcodeOf(none.response.flags), 1)
  t.equal(none.response.id, 1)
  const two = answered({ ...query('web.mesh', 'A'), questions: [{ name: 'web.mesh', type: 'A' }, { name: 'db.data.mesh', type: 'A' }] })
  t.equal(two.outcome, 'formerr')
  t.same(two.response.answers, [])
  const notify = answered({ ...query('web.mesh', 'A'), flags: 4 << 11 })
  t.equal(notify.outcome, 'notimp')
  t.equal(rcodeOf(notify.response.flags), 4)
  t.equal(((notify.response.flags ?? 0) >> 11) & 0xf, 4, 'opcode echoed')
  const external = answered({ ...query('example.com', 'A'), flags: 2 << 11 })
  t.equal(external.outcome, 'notimp', 'NOTIMP does not depend on the name')
  t.equal(answered(query('mesh', 'AXFR')).outcome, 'notimp', 'no zone transfers')
})

t.test('EDNS: OPT echoed for EDNS clients, BADVERS for unknown versions, none for plain clients', async (t) => {
  const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }
  const edns = answered(query('web.mesh', 'A', { additionals: [opt] }))
  t.equal(edns.response.additionals?.[0]?.type, 'OPT')
  t.same(answered(query('web.mesh', 'A')).response.additionals, [])
  const v1 = answered(query('web.mesh', 'A', { additionals: [{ ...opt, ednsVersion: 1 }] }))
  t.equal(v1.outcome, 'badvers')
  t.same(v1.response.answers, [])
  t.match(v1.response.additionals?.[0], { type: 'OPT', extendedRcode: 1 })
})

t.test('non-IN classes are refused for mesh names', async (t) => {
  const ch = answered({ ...query('web.mesh', 'A'), questions: [{ name: 'web.mesh', type: 'A', class: 'CH' }] })
  t.equal(ch.outcome, 'refused')
  t.equal(rcodeOf(ch.response.flags), 5)
  t.notOk((ch.response.flags ?? 0) & FLAG_AA)
})

t.test('labelsUnder', async (t) => {
  t.same(labelsUnder('mesh', 'mesh'), [])
  t.same(labelsUnder('a.b.mesh', 'mesh'), ['a', 'b'])
  t.equal(labelsUnder('amesh', 'mesh'), null)
  t.equal(labelsUnder('example.com', 'mesh'), null)
})
