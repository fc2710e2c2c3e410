import t from 'tap'
import { connectionOptions, redactUrl } from '../../registry/redis-connection'

t.test('redactUrl hides the password and keeps everything else', async (t) => {
  const cases: [string, string][] = [
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://:pw@10.0.0.1:6380/3', 'redis://:***@10.0.0.1:6380/3'],
    ['rediss://alice:pw@redis.example:6379', 'rediss://alice:***@redis.example:6379'],
    ['redis://alice@redis.example:6379', 'redis://alice@redis.example:6379'],
    ['redis://u:p%40ss@h:1', 'redis://u:***@h:1'],
  ]
  for (const [url, want] of cases) t.equal(redactUrl(url), want, url)
  t.notMatch(redactUrl('redis://u:pw-in-broken@[::1'), /pw-in-broken/, 'unparsable URLs lose their credentials too')
})

t.test('the CLI fails fast; the agent retries with a capped backoff; neither queues offline', async (t) => {
  const cli = connectionOptions('cli')
  const agent = connectionOptions('agent')
  for (const o of [cli, agent]) {
    t.equal(o.enableOfflineQueue, false)
    t.equal(o.maxRetriesPerRequest, 0, 'a write is never replayed after a reconnect')
    t.ok((o.connectTimeout ?? 0) > 0 && (o.connectTimeout ?? 0) <= 5000, 'bounded connect timeout')
  }
  t.equal(cli.retryStrategy?.(1), null, 'the CLI does not reconnect')
  const delays = [1, 2, 3, 5, 10, 100, 10_000].map((n) => Number(agent.retryStrategy?.(n)))
  t.ok(delays.every((d) => d > 0 && d <= 5000), `delays within (0, 5000]: ${delays.join(', ')}`)
  t.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]), 'never shrinking')
  t.equal(delays[delays.length - 1], 5000, 'capped')
})
