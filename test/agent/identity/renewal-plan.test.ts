import t from 'tap'
import { planWanted, renewAt, retryDelayMs } from '../../../agent/identity/renewal-plan'

t.test('renew at a fraction of the life left at receipt', async (t) => {
  const got = new Date('2025-01-01T00:00:00Z')
  const end = new Date('2025-01-02T00:00:00Z')
  t.equal(renewAt(got, end).toISOString(), '2025-01-01T12:00:00.000Z')
  t.equal(renewAt(got, end, 0.75).toISOString(), '2025-01-01T18:00:00.000Z')
  t.equal(renewAt(end, got).getTime(), end.getTime(), 'already expired: now')
})

t.test('backoff doubles, is jittered, capped, and ends before expiry', async (t) => {
  t.same([0, 1, 2, 3].map((a) => retryDelayMs(a, 1)), [1000, 2000, 4000, 8000])
  t.same([0, 1, 2].map((a) => retryDelayMs(a, 0)), [500, 1000, 2000], 'jitter takes off up to half')
  t.equal(retryDelayMs(40, 1), 60_000, 'capped')
  t.equal(retryDelayMs(10, 1, { untilMs: 10_000 }), 5_000, 'half the time left before expiry')
})

t.test('wanted identities', async (t) => {
  t.same(planWanted(['a', 'b'], ['b', 'c', 'c']), { add: ['c'], drop: ['a'] })
  t.same(planWanted([], []), { add: [], drop: [] })
})
