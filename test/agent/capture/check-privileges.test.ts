import t from 'tap'
import { CAP_NET_ADMIN, captureProblem, findExecutable, hasCapability, parseEffectiveCaps } from '../../../agent/capture/check-privileges'
import { classifyFailure } from '../../../agent/capture/iptables-rules'

const status = (capEff: string): string => `Name:\tnode\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`

t.test('CAP_NET_ADMIN is read from the effective set', async (t) => {
  const root = parseEffectiveCaps(status('000001ffffffffff'))
  const dropped = parseEffectiveCaps(status('000001ffffffefff'))
  const user = parseEffectiveCaps(status('0000000000000000'))
  t.equal(root, 0x1ffffffffffn)
  t.ok(hasCapability(root as bigint, CAP_NET_ADMIN))
  t.notOk(hasCapability(dropped as bigint, CAP_NET_ADMIN), 'a container that dropped NET_ADMIN')
  t.notOk(hasCapability(user as bigint, CAP_NET_ADMIN))
  t.ok(hasCapability(0x1000n, CAP_NET_ADMIN), 'the capability alone (setcap cap_net_admin+ep)')
  t.equal(parseEffectiveCaps('Name:\tnode\n'), undefined)
})

t.test('captureProblem says exactly what is missing', async (t) => {
  t.equal(captureProblem({ caps: 0x1000n, iptables: '/usr/sbin/iptables' }), undefined)
  t.equal(captureProblem({ caps: undefined, iptables: '/usr/sbin/iptables' }), undefined, 'no /proc: let iptables decide')
  const noPriv = captureProblem({ caps: 0n, iptables: '/usr/sbin/iptables' })
  t.equal(noPriv?.code, 'NM_CAPTURE_NO_PRIVILEGE')
  t.equal(noPriv?.message, 'NM_CAPTURE_NO_PRIVILEGE: capture mode needs root or CAP_NET_ADMIN: run as root, or give the binary the capability, or use bind mode without --capture')
  const noIpt = captureProblem({ caps: 0x1000n, iptables: undefined })
  t.equal(noIpt?.message, 'NM_CAPTURE_NO_IPTABLES: iptables is not installed: apt-get install iptables')
  const both = captureProblem({ caps: 0n, iptables: undefined })
  t.match(both?.message, /CAP_NET_ADMIN.*and iptables is not installed/)
})

t.test('findExecutable looks on PATH, then in the sbin directories', async (t) => {
  const present = new Set(['/opt/bin/iptables', '/usr/sbin/ip6tables'])
  const exists = (p: string): boolean => present.has(p)
  t.equal(findExecutable('iptables', '/usr/bin:/opt/bin', exists), '/opt/bin/iptables')
  t.equal(findExecutable('ip6tables', '/usr/bin', exists), '/usr/sbin/ip6tables', 'found in /usr/sbin though PATH lacks it')
  t.equal(findExecutable('nft', '/usr/bin', exists), undefined)
  t.equal(findExecutable('/opt/bin/iptables', undefined, exists), '/opt/bin/iptables')
  t.equal(findExecutable('/usr/bin/iptables', undefined, exists), undefined)
})

t.test('iptables failures map to what to do', async (t) => {
  const err = new Error('Command failed')
  t.equal(classifyFailure('iptables -t nat -S', 'ENOENT', err, '').code, 'NM_CAPTURE_NO_IPTABLES')
  const denied = classifyFailure('iptables -t nat -S', 1, err, "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n")
  t.equal(denied.code, 'NM_CAPTURE_NO_PRIVILEGE')
  t.match(denied.message, /root or CAP_NET_ADMIN.*Permission denied/)
  const noNat = classifyFailure('iptables -t nat -N X', 3, err, "iptables v1.8.9 (legacy): can't initialize iptables table `nat': Table does not exist (do you need to insmod?)")
  t.equal(noNat.code, 'NM_CAPTURE_RULES_FAILED')
  t.match(noNat.message, /iptables -t nat -N X failed: .*kernel lacks NAT/)
  const other = classifyFailure('iptables -t nat -A X', 2, err, 'iptables v1.8.9 (nf_tables): unknown option "--bogus"')
  t.equal(other.code, 'NM_CAPTURE_RULES_FAILED')
  t.notMatch(other.message, /kernel/)
})
