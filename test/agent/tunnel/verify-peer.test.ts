import t from 'tap'
import crypto from 'node:crypto'
import { parseSubjectAltName, verifyPeerCertificate } from '../../../agent/tunnel/verify-peer'
import { createTestCa, type LeafOptions } from '../../helpers/test-certs'

const TD = 'nodemesh.local'
const WEB = `spiffe://${TD}/ns/default/sa/web`
const DAY = 24 * 60 * 60 * 1000
const ca = createTestCa()
const x509 = (o: LeafOptions) => new crypto.X509Certificate(ca.issue(o).certPem)

t.test('accepts exactly one SPIFFE ID of the trust domain, as expected', async (t) => {
  const cases: [string, LeafOptions, string | undefined, string][] = [
    ['workload', { uris: [WEB] }, undefined, WEB],
    ['workload, expected', { uris: [WEB] }, WEB, WEB],
    ['node identity', { uris: [`spiffe://${TD}/node/vm-1`] }, undefined, `spiffe://${TD}/node/vm-1`],
    ['a DNS SAN beside the URI', { uris: [WEB], dnsNames: ['web.example'] }, WEB, WEB],
  ]
  for (const [name, leaf, expect, want] of cases) {
    const v = verifyPeerCertificate(x509(leaf), { trustDomain: TD, expect })
    t.equal(v.ok ? v.identity.uri : v.reason, want, name)
  }
})

t.test('refuses, saying why', async (t) => {
  const cases: [string, LeafOptions, string | undefined, RegExp][] = [
    ['another identity than expected', { uris: [`spiffe://${TD}/ns/default/sa/db`] }, WEB, /is not the expected spiffe:\/\/nodemesh.local\/ns\/default\/sa\/web/],
    ['another trust domain', { uris: ['spiffe://other.td/ns/default/sa/web'] }, undefined, /trust domain other\.td, expected nodemesh\.local/],
    ['no SAN', {}, undefined, /0 URI SANs/],
    ['only a DNS SAN', { dnsNames: ['web.example'] }, undefined, /0 URI SANs/],
    ['two URI SANs', { uris: [WEB, `spiffe://${TD}/ns/default/sa/db`] }, undefined, /2 URI SANs/],
    ['two URI SANs, the first expected', { uris: [WEB, `spiffe://${TD}/ns/default/sa/db`] }, WEB, /2 URI SANs/],
    ['a URI that is not SPIFFE', { uris: ['https://web.example/'] }, undefined, /is not a SPIFFE ID/],
    ['a SPIFFE URI of the wrong shape', { uris: [`spiffe://${TD}/ns/default`] }, undefined, /is not a SPIFFE ID/],
    ['a comma smuggling a second SAN', { uris: [`spiffe://${TD}/ns/x, URI:${WEB}`] }, WEB, /is not a SPIFFE ID/],
    ['a CA certificate as leaf', { uris: [WEB], isCa: true }, WEB, /CA certificate/],
    ['expired', { uris: [WEB], notBefore: new Date(Date.now() - 2 * DAY), notAfter: new Date(Date.now() - DAY) }, WEB, /expired at/],
    ['not yet valid', { uris: [WEB], notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 2 * DAY) }, WEB, /not valid before/],
  ]
  for (const [name, leaf, expect, want] of cases) {
    const v = verifyPeerCertificate(x509(leaf), { trustDomain: TD, expect })
    t.equal(v.ok, false, name)
    if (!v.ok) t.match(v.reason, want, `${name}: reason`)
  }
})

t.test('the validity window is checked against the given time', async (t) => {
  const cert = x509({ uris: [WEB], notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-02-01T00:00:00Z') })
  t.equal(verifyPeerCertificate(cert, { trustDomain: TD, now: new Date('2030-01-15T00:00:00Z') }).ok, true, 'inside')
  t.equal(verifyPeerCertificate(cert, { trustDomain: TD, now: new Date('2030-02-02T00:00:00Z') }).ok, false, 'after')
  t.equal(verifyPeerCertificate(cert, { trustDomain: TD, now: new Date('2029-12-31T00:00:00Z') }).ok, false, 'before')
})

t.test('subjectAltName strings as node:crypto writes them', async (t) => {
  const cases: [string, { type: string; value: string }[] | undefined][] = [
    ['', []],
    ['URI:spiffe://a/ns/b/sa/c', [{ type: 'URI', value: 'spiffe://a/ns/b/sa/c' }]],
    ['URI:spiffe://a/x, DNS:b.c, IP Address:10.0.0.1', [
      { type: 'URI', value: 'spiffe://a/x' }, { type: 'DNS', value: 'b.c' }, { type: 'IP Address', value: '10.0.0.1' },
    ]],
    ['URI:"spiffe://a\\u002c URI:spiffe://b", DNS:x', [{ type: 'URI', value: 'spiffe://a, URI:spiffe://b' }, { type: 'DNS', value: 'x' }]],
    ['URI:"a\\"b\\\\c"', [{ type: 'URI', value: 'a"b\\c' }]],
    ['URI:"unterminated', undefined],
    ['URI:"a"junk', undefined],
    ['no colon here', undefined],
  ]
  for (const [s, want] of cases) t.same(parseSubjectAltName(s), want, JSON.stringify(s))
})
