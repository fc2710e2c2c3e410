import t from 'tap'
import { jumpCount, parseNatState, planInstall, planRemove, splitArgs, type IptablesArgs } from '../../../agent/capture/plan-iptables'

// `iptables -t nat -S` texts as iptables-nft 1.8.9 prints them.
const FRESH = `-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
`

const INSTALLED = `${FRESH}-N NODEMESH-OUTPUT
-N NODEMESH-PREROUTING
-A PREROUTING -p tcp -j NODEMESH-PREROUTING
-A OUTPUT -p tcp -j NODEMESH-OUTPUT
-A NODEMESH-OUTPUT -m owner --uid-owner 1337 -j RETURN
-A NODEMESH-OUTPUT -d 240.240.0.0/16 -p tcp -j REDIRECT --to-ports 15001
-A NODEMESH-PREROUTING -d 240.240.0.0/16 -p tcp -j REDIRECT --to-ports 15001
`

// What agents that were killed twice in a row, by an older version, leave behind, among
// Docker's rules that must stay untouched.
const CRASHED = `${FRESH}-N DOCKER
-N NODEMESH-OUTPUT
-N NODEMESH-PREROUTING
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A PREROUTING -p tcp -j NODEMESH-PREROUTING
-A PREROUTING -j NODEMESH-PREROUTING
-A OUTPUT -p tcp -j NODEMESH-OUTPUT
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -p tcp -j NODEMESH-OUTPUT
-A OUTPUT -p tcp -m comment --comment "old \\"nodemesh\\" jump" -j NODEMESH-OUTPUT
-A DOCKER -i docker0 -j RETURN
-A NODEMESH-OUTPUT -d 10.0.0.0/8 -p tcp -j REDIRECT --to-ports 15001
-A NODEMESH-OUTPUT -d 10.0.0.0/8 -p tcp -j REDIRECT --to-ports 15001
-A NODEMESH-PREROUTING -d 10.0.0.0/8 -p tcp -j REDIRECT --to-ports 15001
`

const nat = (...args: string[]): IptablesArgs => ['-t', 'nat', ...args]
const FILL = [
  nat('-A', 'NODEMESH-OUTPUT', '-d', '240.240.0.0/16', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15001'),
  nat('-A', 'NODEMESH-PREROUTING', '-d', '240.240.0.0/16', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15001'),
]

t.test('fresh table: create both chains, fill them, one jump from each hook', async (t) => {
  t.same(planInstall(FRESH, { vipCidr: '240.240.0.0/16' }), [
    nat('-N', 'NODEMESH-OUTPUT'), nat('-N', 'NODEMESH-PREROUTING'),
    ...FILL,
    nat('-I', 'OUTPUT', '1', '-p', 'tcp', '-j', 'NODEMESH-OUTPUT'),
    nat('-I', 'PREROUTING', '1', '-p', 'tcp', '-j', 'NODEMESH-PREROUTING'),
  ])
})

t.test('exclusions come first as RETURN; owner matches only in OUTPUT, a mark in both', async (t) => {
  const plan = planInstall(FRESH, { vipCidr: '240.240.0.0/16', capturePort: 15999, exclude: { uid: 1337, gid: 0, mark: 0x539 } })
  t.same(plan.slice(2, 9), [
    nat('-A', 'NODEMESH-OUTPUT', '-m', 'owner', '--uid-owner', '1337', '-j', 'RETURN'),
    nat('-A', 'NODEMESH-OUTPUT', '-m', 'owner', '--gid-owner', '0', '-j', 'RETURN'),
    nat('-A', 'NODEMESH-OUTPUT', '-m', 'mark', '--mark', '0x539', '-j', 'RETURN'),
    nat('-A', 'NODEMESH-OUTPUT', '-d', '240.240.0.0/16', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15999'),
    nat('-A', 'NODEMESH-PREROUTING', '-m', 'mark', '--mark', '0x539', '-j', 'RETURN'),
    nat('-A', 'NODEMESH-PREROUTING', '-d', '240.240.0.0/16', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15999'),
    nat('-I', 'OUTPUT', '1', '-p', 'tcp', '-j', 'NODEMESH-OUTPUT'),
  ])
})

t.test('already installed (a restart after SIGKILL): flush and refill, keep the jumps, add nothing', async (t) => {
  t.same(planInstall(INSTALLED, { vipCidr: '240.240.0.0/16' }), [
    nat('-F', 'NODEMESH-OUTPUT'), nat('-F', 'NODEMESH-PREROUTING'), ...FILL,
  ])
})

t.test('crash leftovers: stale chains refilled with the new CIDR, every jump but one deleted, foreign rules kept', async (t) => {
  const plan = planInstall(CRASHED, { vipCidr: '240.240.0.0/16' })
  t.same(plan, [
    nat('-F', 'NODEMESH-OUTPUT'), nat('-F', 'NODEMESH-PREROUTING'), ...FILL,
    nat('-D', 'PREROUTING', '-j', 'NODEMESH-PREROUTING'),
    nat('-D', 'OUTPUT', '-p', 'tcp', '-j', 'NODEMESH-OUTPUT'),
    nat('-D', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', 'old "nodemesh" jump', '-j', 'NODEMESH-OUTPUT'),
  ])
  t.notOk(plan.some((args) => args.includes('DOCKER')), 'Docker rules are not touched')
})

t.test('a jump with another spec only is replaced: the new one goes in before the old one goes', async (t) => {
  const state = `${FRESH}-N NODEMESH-OUTPUT\n-N NODEMESH-PREROUTING\n-A OUTPUT -j NODEMESH-OUTPUT\n-A OUTPUT -j NODEMESH-PREROUTING\n-A PREROUTING -p tcp -j NODEMESH-PREROUTING\n`
  const jumps = planInstall(state, { vipCidr: '240.240.0.0/16' }).slice(4)
  t.same(jumps, [
    nat('-I', 'OUTPUT', '1', '-p', 'tcp', '-j', 'NODEMESH-OUTPUT'),
    nat('-D', 'OUTPUT', '-j', 'NODEMESH-OUTPUT'),
    nat('-D', 'OUTPUT', '-j', 'NODEMESH-PREROUTING'),
  ], 'a jump from the wrong hook counts as stale too')
})

t.test('removal: every jump, then flush and delete each chain; nothing to do on a clean table', async (t) => {
  t.same(planRemove(CRASHED), [
    nat('-D', 'PREROUTING', '-p', 'tcp', '-j', 'NODEMESH-PREROUTING'),
    nat('-D', 'PREROUTING', '-j', 'NODEMESH-PREROUTING'),
    nat('-D', 'OUTPUT', '-p', 'tcp', '-j', 'NODEMESH-OUTPUT'),
    nat('-D', 'OUTPUT', '-p', 'tcp', '-j', 'NODEMESH-OUTPUT'),
    nat('-D', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', 'old "nodemesh" jump', '-j', 'NODEMESH-OUTPUT'),
    nat('-F', 'NODEMESH-OUTPUT'), nat('-X', 'NODEMESH-OUTPUT'),
    nat('-F', 'NODEMESH-PREROUTING'), nat('-X', 'NODEMESH-PREROUTING'),
  ])
  t.same(planRemove(FRESH), [])
  const chainOnly = `${FRESH}-N NODEMESH-PREROUTING\n`
  t.same(planRemove(chainOnly), [nat('-F', 'NODEMESH-PREROUTING'), nat('-X', 'NODEMESH-PREROUTING')], 'a chain left without its jump goes too')
})

t.test('parseNatState reads chains and rules, and counts jumps', async (t) => {
  const state = parseNatState(CRASHED)
  t.same([...state.chains].sort(), ['DOCKER', 'NODEMESH-OUTPUT', 'NODEMESH-PREROUTING'])
  t.equal(jumpCount(state, 'OUTPUT', 'NODEMESH-OUTPUT'), 3)
  t.equal(jumpCount(state, 'PREROUTING', 'NODEMESH-PREROUTING'), 2)
  t.equal(jumpCount(parseNatState(INSTALLED), 'OUTPUT', 'NODEMESH-OUTPUT'), 1)
  t.same(splitArgs('-A X -m comment --comment "a \\"b\\" c" -j Y'), ['-A', 'X', '-m', 'comment', '--comment', 'a "b" c', '-j', 'Y'])
  t.same(splitArgs('-A X --comment "" -j Y'), ['-A', 'X', '--comment', '', '-j', 'Y'], 'an empty quoted argument is kept')
})

t.test('bad options are refused with NM_BAD_ARGUMENT before any command is planned', async (t) => {
  const bad: Array<[string, Parameters<typeof planInstall>[1]]> = [
    ['IPv6 CIDR', { vipCidr: 'fd00::/64' }],
    ['no prefix', { vipCidr: '240.240.0.0' }],
    ['octet over 255', { vipCidr: '240.256.0.0/16' }],
    ['prefix over 32', { vipCidr: '240.240.0.0/33' }],
    ['port 0', { vipCidr: '240.240.0.0/16', capturePort: 0 }],
    ['negative uid', { vipCidr: '240.240.0.0/16', exclude: { uid: -1 } }],
    ['mark 0', { vipCidr: '240.240.0.0/16', exclude: { mark: 0 } }],
  ]
  for (const [name, opts] of bad) {
    t.throws(() => planInstall(FRESH, opts), { name: 'NmError', code: 'NM_BAD_ARGUMENT' }, name)
  }
})
