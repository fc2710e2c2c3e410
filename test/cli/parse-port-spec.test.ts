import t from 'tap'
import { isNmError } from '../../registry/errors'
import { parsePortSpec, parsePortSpecs } from '../../cli/parse-port-spec'

t.test('good port specs', async (t) => {
  const cases: Array<[string, { name: string; port: number; protocol: string }]> = [
    ['80/http', { name: 'http-80', port: 80, protocol: 'http' }],
    ['9000/tcp', { name: 'tcp-9000', port: 9000, protocol: 'tcp' }],
    ['grpc=9090/grpc', { name: 'grpc', port: 9090, protocol: 'grpc' }],
    ['h2=8443/http2', { name: 'h2', port: 8443, protocol: 'http2' }],
    ['65535/tcp', { name: 'tcp-65535', port: 65535, protocol: 'tcp' }],
    [' 1/tcp ', { name: 'tcp-1', port: 1, protocol: 'tcp' }],
  ]
  for (const [spec, want] of cases) t.same(parsePortSpec(spec), want, spec)
})

t.test('bad port specs name what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['80', /has no protocol/],
    ['80/htp', /protocol "htp": use one of http, http2, grpc, tcp/],
    ['0/tcp', /1\.\.65535/],
    ['65536/tcp', /1\.\.65535/],
    ['http/http', /1\.\.65535/],
    ['-1/tcp', /1\.\.65535/],
    ['8.5/tcp', /1\.\.65535/],
    ['Grpc=9090/grpc', /port name must be a DNS label/],
    ['=9090/grpc', /port name must be a DNS label/],
    ['', /no protocol/],
  ]
  for (const [spec, message] of cases) {
    t.throws(() => parsePortSpec(spec), message, spec)
    try { parsePortSpec(spec) } catch (err) { t.ok(isNmError(err, 'NM_BAD_ARGUMENT'), `${spec}: NM_BAD_ARGUMENT`) }
  }
})

t.test('a list of specs', async (t) => {
  t.same(parsePortSpecs(['80/http', 'grpc=9090/grpc']).map((p) => p.port), [80, 9090])
  t.throws(() => parsePortSpecs([]), /at least one --port/)
  t.throws(() => parsePortSpecs(['80/http', '80/tcp']), /port 80 is given twice/)
  t.throws(() => parsePortSpecs(['a=80/http', 'a=81/tcp']), /port name "a" is given twice/)
})
