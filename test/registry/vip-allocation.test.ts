import t from 'tap'
import { mustParseCidr } from '../../registry/cidr'
import { allocateVip } from '../../registry/vip-allocation'

const CIDR = mustParseCidr('10.1.0.0/29') // hosts .1 to .6

t.test('takes the first free address at or after the cursor and moves the cursor past it', async (t) => {
  t.same(allocateVip(CIDR, 0, []), { ok: true, vip: '10.1.0.1', cursor: 2 })
  t.same(allocateVip(CIDR, 2, ['10.1.0.1']), { ok: true, vip: '10.1.0.2', cursor: 3 })
  t.same(allocateVip(CIDR, 5, ['10.1.0.5', '10.1.0.6']), { ok: true, vip: '10.1.0.1', cursor: 2 }, 'wraps around')
})

t.test('ignores held values that are not addresses of the block', async (t) => {
  t.same(allocateVip(CIDR, 1, [undefined, 7, '10.2.0.1', 'junk']), { ok: true, vip: '10.1.0.1', cursor: 2 })
})

t.test('reports exhaustion with the number in use', async (t) => {
  const all = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']
  t.same(allocateVip(CIDR, 3, [...all, '10.1.0.3']), { ok: false, inUse: 6 })
})
