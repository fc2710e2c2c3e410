import t from 'tap'
import { pickEndpoint } from '../../../agent/routing/pick-endpoint'
import { EndpointLoad } from '../../../agent/routing/endpoint-load'
import type { CompiledEndpoint } from '../../../agent/routing/routing-table'

/** mulberry32: small seeded PRNG so every run draws the same sequence. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function ep(n: number, weight = 1): CompiledEndpoint {
  const address = `10.0.0.${n}`
  return { id: `ep-${n}`, node: 'n1', address, port: 8080, weight, target: `${address}:8080` }
}

const idle = () => 0

t.test('empty list and all excluded give undefined', async (t) => {
  t.equal(pickEndpoint([], idle, seeded(1)), undefined)
  const eps = [ep(1), ep(2)]
  t.equal(pickEndpoint(eps, idle, seeded(1), new Set([eps[0]!.target, eps[1]!.target])), undefined)
})

t.test('a single candidate is returned without drawing', async (t) => {
  const eps = [ep(1), ep(2), ep(3)]
  let draws = 0
  const rnd = () => { draws++; return 0.5 }
  t.equal(pickEndpoint([eps[1]!], idle, rnd), eps[1])
  t.equal(pickEndpoint(eps, idle, rnd, new Set([eps[0]!.target, eps[2]!.target])), eps[1])
  t.equal(draws, 0)
})

t.test('excluded endpoints are never picked', async (t) => {
  const eps = [ep(1), ep(2), ep(3), ep(4)]
  const exclude = new Set([eps[1]!.target, eps[3]!.target])
  const rnd = seeded(7)
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const got = pickEndpoint(eps, idle, rnd, exclude)!
    if (exclude.has(got.target)) t.fail(`picked excluded ${got.id}`)
    seen.add(got.id)
  }
  t.same([...seen].sort(), ['ep-1', 'ep-3'])
})

t.test('the less loaded of the two draws wins', async (t) => {
  const eps = [ep(1), ep(2)]
  const loads: Record<string, number> = { [eps[0]!.target]: 5, [eps[1]!.target]: 1 }
  const rnd = seeded(3)
  for (let i = 0; i < 200; i++) {
    t.equal(pickEndpoint(eps, (x) => loads[x] ?? 0, rnd), eps[1])
  }
  // Load is compared per unit of weight: 5 outstanding on weight 10 beats 1 on weight 1.
  const weighted = [ep(1, 10), ep(2, 1)]
  for (let i = 0; i < 200; i++) {
    t.equal(pickEndpoint(weighted, (x) => loads[x] ?? 0, rnd), weighted[0])
  }
})

t.test('with equal load the picks follow the weights', async (t) => {
  const cases: { weights: number[] }[] = [
    { weights: [1, 1, 1, 1] },
    { weights: [1, 3] },
    { weights: [5, 1, 4] },
    { weights: [100, 1, 1, 1000] },
  ]
  for (const c of cases) {
    const eps = c.weights.map((w, i) => ep(i + 1, w))
    const total = c.weights.reduce((a, b) => a + b, 0)
    const counts = new Map<string, number>()
    const rnd = seeded(42)
    const n = 40_000
    for (let i = 0; i < n; i++) {
      const got = pickEndpoint(eps, idle, rnd)!
      counts.set(got.id, (counts.get(got.id) ?? 0) + 1)
    }
    eps.forEach((e, i) => {
      const share = (counts.get(e.id) ?? 0) / n
      const want = c.weights[i]! / total
      t.ok(Math.abs(share - want) < 0.015, `weights ${c.weights}: ${e.id} share ${share.toFixed(4)} ~ ${want.toFixed(4)}`)
    })
  }
})

t.test('under live load the choice spreads requests evenly', async (t) => {
  const eps = [ep(1), ep(2), ep(3), ep(4)]
  const load = new EndpointLoad()
  const rnd = seeded(9)
  // Hold 400 requests open: p2c keeps the spread much tighter than random picks would.
  for (let i = 0; i < 400; i++) load.begin(pickEndpoint(eps, (x) => load.outstanding(x), rnd)!.target)
  for (const e of eps) {
    const n = load.outstanding(e.target)
    t.ok(n >= 90 && n <= 110, `${e.id} holds ${n} of 400`)
  }
})

t.test('EndpointLoad counts up and down and forgets idle targets', async (t) => {
  const load = new EndpointLoad()
  t.equal(load.outstanding('a:1'), 0)
  load.begin('a:1'); load.begin('a:1'); load.begin('b:1')
  t.equal(load.outstanding('a:1'), 2)
  load.end('a:1')
  t.equal(load.outstanding('a:1'), 1)
  load.end('a:1'); load.end('b:1')
  t.equal(load.size, 0)
  load.end('a:1')
  t.equal(load.outstanding('a:1'), 0, 'an extra end never goes negative')
})
