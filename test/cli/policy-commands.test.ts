/**
 * The built CLI's policy commands straight against a real redis-server (`--redis URL`). Needs
 * a build first (`npm test` builds; or `npx tsc -p . ; node scripts/copy-assets.js`).
 */
import t from 'tap'
import YAML from 'yaml'
import { openStore } from '../../registry/open-store'
import { buildSnapshot } from '../../registry/build-snapshot'
import { startCliAgainstRedis } from './cli-against-redis'

interface PolicyJson { name: string; target: string; action: string; from: Record<string, unknown>; to: Record<string, unknown> }

t.test('policy commands against Redis', async (t) => {
  const { redis, ok, fails: failsWith } = await startCliAgainstRedis(t, 'nm-cli-policy-')
  const fails = async (code: number, pattern: RegExp, ...args: string[]): Promise<void> => {
    const r = await failsWith(code, pattern, ...args)
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
  }

  t.same(JSON.parse(await ok('policies', '-o', 'json')), [], 'none at first')

  const allowOut = await ok('policy', 'allow', '--to', 'web', '--from', 'api', '--port', '80', '--method', 'get', '--path', '/api/*')
  const allowName = /^policy (allow-web-from-api-[0-9a-f]{6}) saved\n$/.exec(allowOut)?.[1]
  t.ok(allowName, `prints the derived name: ${allowOut}`)
  t.equal(await ok('policy', 'allow', '--to', 'web.default', '--path', '/api/*', '--method', 'GET', '--port', '80', '--from', 'api.default'), allowOut,
    'the same rule again: the same name, saved once')
  t.match(await ok('policy', 'deny', '--to', '*', '--from-namespace', 'legacy', '--name', 'no-legacy'), /^policy no-legacy saved\n$/)
  const dbOut = await ok('policy', 'allow', '--to', 'db.shop', '--from-identity', 'spiffe://nodemesh.local/ns/shop/sa/cart', '--path', '*.png')
  const dbName = /^policy (allow-db-shop-from-cart-[0-9a-f]{6}) saved\n$/.exec(dbOut)?.[1]
  t.ok(dbName, dbOut)

  const listed = JSON.parse(await ok('policies', '-o', 'json')) as PolicyJson[]
  t.same(listed.map((p) => p.name), [dbName, allowName, 'no-legacy'], 'sorted by name, three policies')
  t.same(listed.find((p) => p.name === dbName), {
    name: dbName, target: 'shop/db', action: 'ALLOW', from: { identities: ['spiffe://nodemesh.local/ns/shop/sa/cart'] }, to: { paths: ['*.png'] },
  })
  t.same(listed.find((p) => p.name === allowName), {
    name: allowName, target: 'default/web', action: 'ALLOW',
    from: { services: ['default/api'] }, to: { ports: [80], methods: ['GET'], paths: ['/api/*'] },
  })
  t.same(listed.find((p) => p.name === 'no-legacy'), { name: 'no-legacy', target: '*', action: 'DENY', from: { namespaces: ['legacy'] }, to: {} })
  t.same(YAML.parse(await ok('policies', '-o', 'yaml')), listed, 'yaml carries the same data')
  const table = await ok('policies')
  t.match(table, /^NAME\s+ACTION\s+TARGET\s+FROM\s+TO\n/)
  t.match(table, /no-legacy\s+DENY\s+\*\s+namespaces=legacy\s+\*\n/)

  // What the agents read: the records are in the registry, valid, with no rejects.
  const store = await openStore(redis.url, { role: 'cli' })
  const { snapshot } = buildSnapshot(await store.load())
  await store.close()
  t.same([...snapshot.policies.keys()].sort(), listed.map((p) => p.name))
  t.same(snapshot.rejected, [])

  t.match(await ok('mesh', 'init', '--default-deny', 'true'), /default deny true\n$/)
  t.equal((JSON.parse(await ok('mesh', 'show', '-o', 'json')) as { defaultDeny: boolean }).defaultDeny, true)
  t.match(await ok('mesh', 'init', '--default-deny', 'false'), /default deny false\n$/)
  t.equal((JSON.parse(await ok('mesh', 'show', '-o', 'json')) as { defaultDeny: boolean }).defaultDeny, false)
  await fails(2, /^nodemesh: NM_BAD_ARGUMENT: --default-deny "yes" must be true or false$/m, 'mesh', 'init', '--default-deny', 'yes')

  t.match(await ok('policy', 'delete', 'no-legacy'), /^policy no-legacy deleted\n$/)
  await fails(1, /^nodemesh: NM_NOT_FOUND: policy no-legacy does not exist: list policies with `nodemesh policies`$/m, 'policy', 'delete', 'no-legacy')
  t.same((JSON.parse(await ok('policies', '-o', 'json')) as PolicyJson[]).map((p) => p.name).includes('no-legacy'), false)

  // Bad arguments: one line, exit 2, nothing written.
  await fails(2, /needs --to SERVICE/, 'policy', 'allow', '--from', 'api')
  await fails(2, /--from-identity "api" must be spiffe:\/\//, 'policy', 'allow', '--to', 'web', '--from-identity', 'api')
  await fails(2, /--method "GE\/T"/, 'policy', 'deny', '--to', 'web', '--method', 'GE/T')
  await fails(2, /--path "admin" must be an exact path/, 'policy', 'deny', '--to', 'web', '--path', 'admin')
  await fails(2, /--port "0" must be a whole number/, 'policy', 'deny', '--to', 'web', '--port', '0')
  await fails(2, /--port "99999"/, 'policy', 'allow', '--to', 'web', '--port', '99999')
  await fails(2, /--from-namespace "NS"/, 'policy', 'allow', '--to', 'web', '--from-namespace', 'NS')
  await fails(2, /policy name "Bad!" must be a DNS label/, 'policy', 'delete', 'Bad!')
  await fails(2, /^nodemesh: NM_BAD_ARGUMENT: unknown option '--form'/, 'policy', 'allow', '--to', 'web', '--form', 'api')
  await fails(2, /-o "xml" must be one of/, 'policies', '-o', 'xml')
  t.equal((JSON.parse(await ok('policies', '-o', 'json')) as PolicyJson[]).length, 2, 'no bad command wrote anything')
})
