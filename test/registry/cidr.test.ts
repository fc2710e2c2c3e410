import t from 'tap'
import {
  addressOffset, cidrContains, hostOffsets, intToIpv4, ipv4ToInt, mustParseCidr, nextFreeOffset, nthAddress, parseCidr,
} from '../../registry/cidr'

t.test('ipv4 to and from integers', async (t) => {
  for (const addr of ['0.0.0.0', '10.1.2.3', '127.77.0.1', '255.255.255.255']) {
    const n = ipv4ToInt(addr)
    t.type(n, 'number', addr)
    t.equal(intToIpv4(n!), addr)
  }
  t.equal(ipv4ToInt('255.255.255.255'), 4294967295)
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', 'a.b.c.d', '1.2.3.-4', '::1']) {
    t.equal(ipv4ToInt(bad), undefined, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('parseCidr accepts canonical blocks', async (t) => {
  const c = mustParseCidr('127.77.0.0/16')
  t.equal(c.size, 65536)
  t.equal(c.prefix, 16)
  t.equal(c.text, '127.77.0.0/16')
  t.equal(mustParseCidr('10.0.0.4/30').size, 4)
  t.equal(mustParseCidr('0.0.0.0/0').size, 2 ** 32)
})

t.test('parseCidr rejects with a reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['10.0.0.0', /not an IPv4 CIDR/],
    ['10.0.0/8', /not an IPv4 CIDR/],
    ['10.0.0.0/33', /prefix length/],
    ['10.0.0.0/x', /prefix length/],
    ['10.0.0.1/16', /host bits set; did you mean 10\.0\.0\.0\/16/],
  ]
  for (const [text, re] of cases) {
    const r = parseCidr(text)
    t.equal(r.ok, false, text)
    if (!r.ok) t.match(r.reason, re, text)
  }
  const limited = parseCidr('10.0.0.0/31', { minPrefix: 8, maxPrefix: 30 })
  t.equal(limited.ok, false)
  if (!limited.ok) t.match(limited.reason, /\/8\.\.\/30, got \/31/)
  t.throws(() => mustParseCidr('nope'))
})

t.test('contains, nth address and offsets', async (t) => {
  const c = mustParseCidr('192.168.4.0/22')
  t.ok(cidrContains(c, '192.168.4.0'))
  t.ok(cidrContains(c, '192.168.7.255'))
  t.notOk(cidrContains(c, '192.168.8.0'))
  t.notOk(cidrContains(c, '192.168.3.255'))
  t.notOk(cidrContains(c, 'garbage'))
  t.equal(nthAddress(c, 0), '192.168.4.0')
  t.equal(nthAddress(c, 257), '192.168.5.1')
  t.throws(() => nthAddress(c, 1024), RangeError)
  t.throws(() => nthAddress(c, -1), RangeError)
  t.equal(addressOffset(c, '192.168.5.1'), 257)
  t.equal(addressOffset(c, '10.0.0.1'), undefined)
})

t.test('host offsets skip network and broadcast', async (t) => {
  t.same(hostOffsets(mustParseCidr('10.0.0.0/30')), { first: 1, last: 2, count: 2 })
  t.same(hostOffsets(mustParseCidr('10.0.0.0/24')), { first: 1, last: 254, count: 254 })
  t.same(hostOffsets(mustParseCidr('10.0.0.0/32')), { first: 0, last: 0, count: 1 })
})

t.test('nextFreeOffset rotates and reports exhaustion', async (t) => {
  const c = mustParseCidr('10.0.0.0/29') // hosts 1..6
  const taken = new Set<number>()
  const got: number[] = []
  let cursor = 0
  for (;;) {
    const off = nextFreeOffset(c, cursor, (o) => taken.has(o))
    if (off === undefined) break
    taken.add(off)
    got.push(off)
    cursor = off + 1
  }
  t.same(got, [1, 2, 3, 4, 5, 6], 'every host once, in order, never network (0) or broadcast (7)')
  taken.delete(3)
  t.equal(nextFreeOffset(c, cursor, (o) => taken.has(o)), 3, 'wraps around to the freed one')
  taken.delete(5)
  t.equal(nextFreeOffset(c, 4, (o) => taken.has(o)), 5, 'starts at the cursor, not at the first free')
  t.equal(nextFreeOffset(c, 4, () => true), undefined)
})
