import t from 'tap'
import { addToken, consumeToken, hashToken, newJoinToken, parseTokenList, renderTokenList } from '../../ca/join-tokens'

const T0 = new Date('2025-01-01T00:00:00Z')
const later = (ms: number) => new Date(T0.getTime() + ms)

t.test('tokens are random, stored only as a hash', async (t) => {
  const a = newJoinToken()
  t.match(a, /^[A-Za-z0-9_-]{43}$/, '32 bytes base64url')
  t.not(a, newJoinToken())
  const list = addToken([], a, 'node-a', 3_600_000, T0)
  t.notMatch(renderTokenList(list), a, 'the token itself is not written')
  t.equal(list[0]!.hash, hashToken(a))
  t.same(parseTokenList(renderTokenList(list)), list, 'round-trips')
})

t.test('consume: once, for its node, before expiry', async (t) => {
  const tok = newJoinToken()
  const list = addToken([], tok, 'node-a', 3_600_000, T0)
  for (const [name, token, node, now, reason] of [
    ['unknown token', 'nope', 'node-a', later(1), 'unknown'],
    ['other node', tok, 'node-b', later(1), 'other-node'],
    ['expired', tok, 'node-a', later(3_600_000), 'expired'],
  ] as const) {
    const r = consumeToken(list, token, node, now)
    t.same([r.ok, r.ok ? '' : r.reason], [false, reason], name)
  }
  const first = consumeToken(list, tok, 'node-a', later(1000))
  t.equal(first.ok, true)
  const second = consumeToken(first.tokens, tok, 'node-a', later(2000))
  t.same([second.ok, second.ok ? '' : second.reason], [false, 'used'], 'a used token is refused')
})

t.test('expired records are pruned when tokens are added', async (t) => {
  const list = addToken([], newJoinToken(), 'node-a', 1000, T0)
  t.equal(addToken(list, newJoinToken(), 'node-b', 1000, later(5000)).length, 1)
})
