/**
 * The built CLI straight against a real redis-server (`--redis URL`). Needs a build first
 * (`npm test` builds; or `npx tsc -p . ; node scripts/copy-assets.js`).
 */
import t from 'tap'
import YAML from 'yaml'
import { startCliAgainstRedis } from './cli-against-redis'

interface ServiceJson { name: string; namespace: string; vip: string; serviceAccount: string; ports: Array<{ name: string; port: number; protocol: string }> }
interface EndpointJson { id: string; service: string; node: string; address: string; ports: Record<string, number>; weight: number; labels: Record<string, string>; lease: string | null }

t.test('service, endpoint and mesh commands against Redis', async (t) => {
  const { ok, fails } = await startCliAgainstRedis(t, 'nm-cli-redis-')

  t.match(await ok('mesh', 'init', '--vip-cidr', '10.200.0.0/24', '--trust-domain', 'example.org'),
    /mesh initialised: VIP CIDR 10\.200\.0\.0\/24, trust domain example\.org/)
  t.same(JSON.parse(await ok('mesh', 'show', '-o', 'json')), { vipCidr: '10.200.0.0/24', trustDomain: 'example.org', defaultDeny: false })

  const created = await ok('service', 'create', 'web', '--port', '80/http', '--port', 'grpc=9090/grpc')
  t.match(created, /^service web\.default created, VIP 10\.200\.0\.\d+, ports 80\/http, grpc=9090\/grpc\n$/)
  t.match(await ok('service', 'create', 'db.shop', '--port', '5432/tcp', '--service-account', 'postgres'), /service db\.shop created/)
  await fails(1, /^nodemesh: NM_ALREADY_EXISTS: /, 'service', 'create', 'web', '--port', '80/http')

  const services = JSON.parse(await ok('services', '-o', 'json')) as ServiceJson[]
  t.same(services.map((s) => `${s.namespace}/${s.name}`), ['default/web', 'shop/db'])
  const web = services[0]!
  t.match(web.vip, /^10\.200\.0\.\d+$/)
  t.not(web.vip, services[1]!.vip, 'distinct VIPs')
  t.same(web.ports, [{ name: 'http-80', port: 80, protocol: 'http' }, { name: 'grpc', port: 9090, protocol: 'grpc' }])
  t.equal(services[1]!.serviceAccount, 'postgres')
  t.same(YAML.parse(await ok('services', '-o', 'yaml')), services, 'yaml carries the same data')
  t.same((JSON.parse(await ok('services', '--namespace', 'shop', '-o', 'json')) as ServiceJson[]).map((s) => s.name), ['db'])
  const table = await ok('services')
  t.match(table, /^NAME\s+NAMESPACE\s+VIP\s+PORTS/)
  t.match(table, new RegExp(`web\\s+default\\s+${web.vip.replace(/\./g, '\\.')}\\s+80/http,grpc=9090/grpc`))

  await fails(2, /with --redis, register needs --node NODE/, 'register', 'web', '--address', '10.0.0.5', '--port', '80=8080', '--port', '9090=9091')
  await fails(2, /map each one with --port SERVICE_PORT=TARGET/, 'register', 'web', '--address', '10.0.0.5', '--port', '8080', '--node', 'n1')
  await fails(1, /^nodemesh: NM_NOT_FOUND: service default\/nope does not exist/, 'register', 'nope', '--address', '10.0.0.5', '--port', '80', '--node', 'n1')

  const id = (await ok('register', 'web', '--address', '10.0.0.5', '--port', '80=8080', '--port', 'grpc=9091',
    '--node', 'n1', '--weight', '5', '--label', 'version=v2')).trim()
  t.match(id, /^\S+$/, 'prints the endpoint id alone')
  const single = (await ok('register', 'db.shop', '--address', '10.0.0.9', '--port', '15432', '--node', 'n2')).trim()

  const eps = JSON.parse(await ok('endpoints', 'web', '-o', 'json')) as EndpointJson[]
  t.equal(eps.length, 1)
  t.same({ ...eps[0], createdAt: undefined, health: undefined }, {
    id, service: 'default/web', node: 'n1', address: '10.0.0.5', ports: { 80: 8080, 9090: 9091 }, weight: 5,
    labels: { version: 'v2' }, lease: null, createdAt: undefined, health: undefined,
  }, 'a static endpoint: no lease')
  const dbEps = JSON.parse(await ok('endpoints', 'db.shop', '-o', 'json')) as EndpointJson[]
  t.same(dbEps.map((e) => [e.id, e.ports]), [[single, { 5432: 15432 }]], 'a bare --port maps the only service port')
  t.same(YAML.parse(await ok('endpoints', 'shop/db', '-o', 'yaml')), dbEps)
  t.match(await ok('endpoints', 'web'), new RegExp(`${id}\\s+n1\\s+10\\.0\\.0\\.5\\s+80->8080,9090->9091\\s+5\\s+healthy\\s+\\(static\\)\\s+version=v2`))

  await fails(1, /^nodemesh: NM_NOT_FOUND: /, 'deregister', 'web', 'ep-missing')
  t.match(await ok('deregister', 'web', id), `endpoint ${id} of web.default deregistered`)
  t.same(JSON.parse(await ok('endpoints', 'web', '-o', 'json')), [])

  t.match(await ok('service', 'delete', 'web'), /^service web\.default deleted\n$/)
  await fails(1, /^nodemesh: NM_NOT_FOUND: /, 'service', 'delete', 'web')
  await fails(1, /^nodemesh: NM_NOT_FOUND: service default\/web does not exist/, 'endpoints', 'web')
  t.same((JSON.parse(await ok('services', '-o', 'json')) as ServiceJson[]).map((s) => s.name), ['db'])
})
