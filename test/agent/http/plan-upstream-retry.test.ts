import t from 'tap'
import { planUpstreamRetry, upstreamFailure, type UpstreamLossFacts } from '../../../agent/http/plan-upstream-retry'

const base: UpstreamLossFacts = { canResend: true, idempotent: true, neverSent: false, reused: false, retriedPooled: false, retriedEndpoint: false }

t.test('when a request the endpoint never answered is sent again', async (t) => {
  const cases: [string, Partial<UpstreamLossFacts>, ReturnType<typeof planUpstreamRetry>][] = [
    ['stale pooled connection, GET', { reused: true }, 'fresh-connection'],
    ['stale pooled connection retried once already', { reused: true, retriedPooled: true }, 'other-endpoint'],
    ['fresh connection refused', {}, 'other-endpoint'],
    ['other endpoint tried already', { retriedEndpoint: true }, 'fail'],
    ['POST that may have reached the endpoint', { idempotent: false, reused: true }, 'fail'],
    ['POST that never connected', { idempotent: false, neverSent: true }, 'other-endpoint'],
    ['body streamed, so not in hand', { canResend: false, reused: true }, 'fail'],
  ]
  for (const [name, facts, want] of cases) t.equal(planUpstreamRetry({ ...base, ...facts }), want, name)
})

t.test('the answer when no retry is left', async (t) => {
  t.match(upstreamFailure('10.0.0.1:80', 'ETIMEDOUT'), { status: 504, code: 'NM_UPSTREAM_TIMEOUT' })
  t.match(upstreamFailure('10.0.0.1:80', 'ECONNREFUSED'), { status: 502, code: 'NM_UPSTREAM_REFUSED', message: /failed \(ECONNREFUSED\)/ })
  t.match(upstreamFailure('10.0.0.1:80', undefined), { status: 502, message: /closed the connection before responding/ })
})
