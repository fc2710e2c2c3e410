import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { isNmError, type NmErrorCode } from '../../registry/errors'
import { openStore, redactUrl } from '../../registry/open-store'
import { startRedis } from '../helpers/redis-server'

const WEB = { name: 'web', namespace: 'default', ports: [{ name: 'http', port: 80, protocol: 'http' as const }] }
const ioredisLoaded = (): boolean => Object.keys(require.cache).some((k) => k.includes(`${path.sep}node_modules${path.sep}ioredis${path.sep}`))

async function codeOf(p: Promise<unknown>): Promise<{ code: NmErrorCode | 'none' | 'other'; message: string }> {
  try {
    await p
    return { code: 'none', message: '' }
  } catch (err) {
    return { code: isNmError(err) ? err.code : 'other', message: (err as Error).message }
  }
}

t.test('file: opens the embedded store without loading the Redis client', async (t) => {
  t.notOk(ioredisLoaded(), 'ioredis not loaded by importing open-store')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-open-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'registry.json')
  const store = await openStore(`file:${file}`)
  t.teardown(() => store.close())
  t.equal(store.description, `file:${file}`)
  const svc = await store.createService(WEB)
  t.equal((await store.load()).records.service.get('default/web') !== undefined, true)
  t.ok(svc.vip, 'VIP allocated')
  t.ok(fs.existsSync(file), 'the registry file is written')
  t.notOk(ioredisLoaded(), 'still not loaded')
})

t.test('redis:// opens the Redis store with the given prefix', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await openStore(redis.url, { role: 'cli', prefix: '{opened}:' })
  t.teardown(() => store.close())
  t.ok(ioredisLoaded(), 'the client loads when a Redis registry is opened')
  t.equal(store.description, redis.url)
  await store.createService(WEB)
  const other = await openStore(redis.url, { prefix: '{opened}:' })
  t.teardown(() => other.close())
  t.ok((await other.load()).records.service.has('default/web'), 'same prefix, same registry')
  const elsewhere = await openStore(redis.url)
  t.teardown(() => elsewhere.close())
  t.equal((await elsewhere.load()).records.service.size, 0, 'the default prefix is another registry')
})

t.test('rediss:// speaks TLS: a plain server is unreachable, with the password redacted', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const r = await codeOf(openStore(`rediss://u:hunter2-secret@127.0.0.1:${redis.port}`, { role: 'cli' }))
  t.equal(r.code, 'NM_REGISTRY_UNREACHABLE')
  t.notMatch(r.message, /hunter2-secret/)
  t.match(r.message, `rediss://u:***@127.0.0.1:${redis.port}`)
})

t.test('bad specs are refused with NM_BAD_ARGUMENT and no secrets', async (t) => {
  for (const spec of ['', '   ', 'file:', 'localhost:6379', 'http://user:topsecret@example.org/']) {
    const r = await codeOf(openStore(spec))
    t.equal(r.code, 'NM_BAD_ARGUMENT', `"${spec}" refused`)
    t.notMatch(r.message, /topsecret/, `"${spec}": no password in the message`)
  }
})

t.test('redactUrl is available to callers that log the registry spec', async (t) => {
  t.equal(redactUrl('rediss://alice:pw@redis.example:6379'), 'rediss://alice:***@redis.example:6379')
})
