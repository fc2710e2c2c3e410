import t from 'tap'
import { firstVipBindable, judgeVipCidr } from '../../../agent/listeners/check-vip-cidr'

t.test('the mode must fit the VIP CIDR', async (t) => {
  t.same(judgeVipCidr(false, '127.77.0.0/16', true), { ok: true }, 'bind mode on loopback')
  t.same(judgeVipCidr(false, '240.240.0.0/16', true), { ok: true }, 'bind mode on a CIDR routed locally')
  t.match(judgeVipCidr(false, '240.240.0.0/16', false), { ok: false, message: /bind mode.*--capture.*ip route add local 240\.240\.0\.0\/16 dev lo/ })
  t.same(judgeVipCidr(true, '240.240.0.0/16', false), { ok: true }, 'capture mode on a routable CIDR')
  t.match(judgeVipCidr(true, '127.77.0.0/16', true), { ok: false, message: /host processes only.*mesh init --vip-cidr/ })
  t.match(judgeVipCidr(true, '127.77.0.0/16', true, '240.240.0.0/16'), { ok: false, message: /expects the VIP CIDR 240\.240\.0\.0\/16 .*mesh uses 127\.77\.0\.0\/16.*mesh init --vip-cidr 240\.240\.0\.0\/16/ })
  t.same(judgeVipCidr(true, '240.240.0.0/16', true, '240.240.0.0/16'), { ok: true }, 'the expected CIDR is the mesh one')
})

t.test('probing whether a VIP can be bound here', async (t) => {
  t.equal(await firstVipBindable('127.77.0.0/16'), true, 'loopback addresses are local')
  t.equal(await firstVipBindable('192.0.2.0/24'), false, 'a documentation range is not local')
})
