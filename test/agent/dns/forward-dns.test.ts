import dgram from 'node:dgram'
import t from 'tap'
import dnsPacket, { type Packet } from 'dns-packet'
import { forwardDns, isOwnListener, responseMatches } from '../../../agent/dns/forward-dns'
import { freePort } from '../../helpers/free-port'
import { answerData } from './dns-test-client'
import { startFakeUpstream } from './fake-upstream'

function rawQuery(name: string, id = 1234): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] })
}

function decoded(b: Buffer): Packet {
  return dnsPacket.decode(b)
}

/** A UDP socket that receives queries and never answers: an upstream that is down but not refusing. */
async function blackHole(t: { teardown(fn: () => Promise<void>): void }): Promise<{ host: string; port: number }> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => sock.close(() => resolve())))
  return { host: '127.0.0.1', port: sock.address().port }
}

t.test('forwards over UDP and restores the client id', async (t) => {
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] } })
  t.teardown(up.close)
  const r = await forwardDns(rawQuery('example.com', 4321), { upstreams: [up] })
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.transport, 'udp')
  const p = decoded(r.response)
  t.equal(p.id, 4321)
  t.same(answerData(p), ['93.184.216.34'])
  t.equal(up.seen.udp, 1)
  t.equal(up.seen.tcp, 0)
  t.not(up.seen.ids[0], undefined)
})

t.test('a truncated UDP answer is retried over TCP', async (t) => {
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] }, truncateUdp: true })
  t.teardown(up.close)
  const r = await forwardDns(rawQuery('example.com', 77), { upstreams: [up] })
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.transport, 'tcp')
  const p = dnsPacket.decode(r.response)
  t.equal(p.id, 77)
  t.notOk(p.flag_tc)
  t.same(answerData(p), ['93.184.216.34'])
  t.equal(up.seen.tcp, 1)
})

t.test('next upstream when one refuses the connection or never answers', async (t) => {
  const refused = { host: '127.0.0.1', port: await freePort() }
  const silent = await blackHole(t)
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] } })
  t.teardown(up.close)
  const r = await forwardDns(rawQuery('example.com'), { upstreams: [refused, silent, up], timeoutMs: 300 })
  t.ok(r.ok)
  if (r.ok) t.same(answerData(decoded(r.response)), ['93.184.216.34'])
})

t.test('all upstreams down: a failure naming each of them', async (t) => {
  const refused = { host: '127.0.0.1', port: await freePort() }
  const silent = await blackHole(t)
  const r = await forwardDns(rawQuery('example.com'), { upstreams: [refused, silent], timeoutMs: 300 })
  t.notOk(r.ok)
  if (!r.ok) {
    t.match(r.reason, `127.0.0.1:${refused.port}/udp`)
    t.match(r.reason, `127.0.0.1:${silent.port}/udp: no answer within 300 ms`)
  }
})

t.test('a reply with the wrong id is ignored, the right one is taken', async (t) => {
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] }, spoofFirst: true })
  t.teardown(up.close)
  const r = await forwardDns(rawQuery('example.com'), { upstreams: [up] })
  t.ok(r.ok)
  if (r.ok) t.same(answerData(decoded(r.response)), ['93.184.216.34'])
})

t.test('concurrent queries with the same client id each get their own answer', async (t) => {
  const records: Record<string, string[]> = {}
  const delayMs: Record<string, number> = {}
  for (let i = 1; i <= 8; i++) {
    records[`h${i}.example.com`] = [`10.0.0.${i}`]
    delayMs[`h${i}.example.com`] = (9 - i) * 15 // first asked, last answered
  }
  const up = await startFakeUpstream({ records, delayMs })
  t.teardown(up.close)
  const results = await Promise.all(Object.keys(records).map((name) => forwardDns(rawQuery(name, 1), { upstreams: [up] })))
  results.forEach((r, i) => {
    t.ok(r.ok)
    if (r.ok) t.same(answerData(decoded(r.response)), [`10.0.0.${i + 1}`], `h${i + 1}`)
  })
  t.equal(new Set(up.seen.ids).size, 8, 'each attempt carried its own id upstream')
})

t.test('loop guard: our own listener is never an upstream', async (t) => {
  const up = await startFakeUpstream({ records: { 'example.com': ['93.184.216.34'] } })
  t.teardown(up.close)
  const self = { address: up.host, port: up.port }
  const r = await forwardDns(rawQuery('example.com'), { upstreams: [up], self })
  t.notOk(r.ok)
  t.equal(up.seen.udp, 0, 'nothing was sent to ourselves')
  t.ok(isOwnListener({ host: '127.0.0.1', port: 15053 }, { address: '127.0.0.1', port: 15053 }))
  t.notOk(isOwnListener({ host: '127.0.0.1', port: 53 }, { address: '127.0.0.1', port: 15053 }))
  t.notOk(isOwnListener({ host: '127.0.0.2', port: 15053 }, { address: '127.0.0.1', port: 15053 }))
  t.ok(isOwnListener({ host: '127.0.0.2', port: 15053 }, { address: '0.0.0.0', port: 15053 }), 'wildcard covers loopback')
  t.ok(isOwnListener({ host: '10.1.2.3', port: 15053 }, { address: '0.0.0.0', port: 15053 }, ['10.1.2.3']))
  t.notOk(isOwnListener({ host: '10.9.9.9', port: 15053 }, { address: '0.0.0.0', port: 15053 }, ['10.1.2.3']))
})

t.test('responseMatches checks QR, id and question', async (t) => {
  const q = [{ name: 'Example.com', type: 'A' as const, class: 'IN' as const }]
  const resp = (over: Partial<Packet>): Buffer => dnsPacket.encode({ id: 5, type: 'response', questions: [{ name: 'example.COM', type: 'A' }], ...over })
  t.ok(responseMatches(resp({}), 5, q), 'name case differs (0x20) but matches')
  t.notOk(responseMatches(resp({ id: 6 }), 5, q))
  t.notOk(responseMatches(resp({ type: 'query' }), 5, q))
  t.notOk(responseMatches(resp({ questions: [{ name: 'example.org', type: 'A' }] }), 5, q))
  t.notOk(responseMatches(resp({ questions: [{ name: 'example.com', type: 'AAAA' }] }), 5, q))
  t.notOk(responseMatches(Buffer.from([0, 5, 0x80]), 5, q))
})
