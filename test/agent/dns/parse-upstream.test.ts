import t from 'tap'
import { isNmError } from '../../../registry/errors'
import { formatUpstream, parseUpstream } from '../../../agent/dns/parse-upstream'

t.test('accepted forms', async (t) => {
  const cases: [string, { host: string; port: number }][] = [
    ['10.0.0.2', { host: '10.0.0.2', port: 53 }],
    ['10.0.0.2:5353', { host: '10.0.0.2', port: 5353 }],
    ['2001:db8::1', { host: '2001:db8::1', port: 53 }],
    ['[2001:db8::1]', { host: '2001:db8::1', port: 53 }],
    ['[2001:db8::1]:5300', { host: '2001:db8::1', port: 5300 }],
    [' 127.0.0.1:53 ', { host: '127.0.0.1', port: 53 }],
  ]
  for (const [spec, want] of cases) t.same(parseUpstream(spec), want, spec)
})

t.test('rejected forms carry NM_BAD_ARGUMENT and the expected syntax', async (t) => {
  for (const spec of ['', 'dns.google', '10.0.0.2:', '10.0.0.2:0', '10.0.0.2:70000', '10.0.0.2:x', '[10.0.0.2]:53', '[::1]:']) {
    const err = (() => { try { parseUpstream(spec); return undefined } catch (e) { return e } })()
    t.ok(isNmError(err, 'NM_BAD_ARGUMENT'), `${JSON.stringify(spec)} rejected`)
    t.match((err as Error | undefined)?.message, /IP, IP:PORT or \[IPV6\]:PORT/)
  }
})

t.test('formatUpstream round-trips', async (t) => {
  for (const spec of ['10.0.0.2:5353', '[2001:db8::1]:53']) t.equal(formatUpstream(parseUpstream(spec)), spec)
})
