import t from 'tap'
import type { ServicePort } from '../../registry/records'
import { parseEndpointPortSpec, resolveEndpointPorts } from '../../cli/parse-endpoint-ports'

const one: ServicePort[] = [{ name: 'http-80', port: 80, protocol: 'http' }]
const two: ServicePort[] = [{ name: 'http-80', port: 80, protocol: 'http' }, { name: 'grpc', port: 9090, protocol: 'grpc' }]

t.test('parse one endpoint port spec', async (t) => {
  t.same(parseEndpointPortSpec('8080'), { target: 8080 })
  t.same(parseEndpointPortSpec('80=8081'), { servicePort: '80', target: 8081 })
  t.same(parseEndpointPortSpec('grpc=9091'), { servicePort: 'grpc', target: 9091 })
  t.throws(() => parseEndpointPortSpec('=8081'), /want SERVICE_PORT=TARGET/)
  t.throws(() => parseEndpointPortSpec('80=x'), /1\.\.65535/)
  t.throws(() => parseEndpointPortSpec('99999'), /1\.\.65535/)
})

t.test('resolve against the service ports', async (t) => {
  const cases: Array<[string[], ServicePort[], Record<string, number>]> = [
    [['8080'], one, { 80: 8080 }],
    [['80=8080'], one, { 80: 8080 }],
    [['80=8080', '9090=9091'], two, { 80: 8080, 9090: 9091 }],
    [['http-80=8080', 'grpc=9091'], two, { 80: 8080, 9090: 9091 }],
  ]
  for (const [specs, ports, want] of cases) {
    t.same(resolveEndpointPorts(specs.map(parseEndpointPortSpec), ports, 'default/web'), want, specs.join(' '))
  }
})

t.test('resolution errors', async (t) => {
  const cases: Array<[string[], ServicePort[], RegExp]> = [
    [[], one, /give --port: service default\/web has ports 80\/http/],
    [['8080'], two, /map each one with --port SERVICE_PORT=TARGET/],
    [['8080', '80=8081'], one, /bare --port N is only for a service with one port/],
    [['81=8080'], one, /has no port "81"/],
    [['80=8080'], two, /port 9090 needs a target too: add --port 9090=TARGET/],
    [['80=8080', 'http-80=8081', '9090=1'], two, /service port 80 is mapped twice/],
  ]
  for (const [specs, ports, message] of cases) {
    t.throws(() => resolveEndpointPorts(specs.map(parseEndpointPortSpec), ports, 'default/web'), message, specs.join(' '))
  }
})
