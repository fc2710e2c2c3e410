/**
 * Picks the registry backend from a spec string (`--registry` / NODEMESH_REDIS_URL). Backends
 * load lazily (ioredis, the embedded store), so a CLI command that uses neither loads neither.
 */
import { NmError } from './errors'
import { redactUrl } from './redis-connection'
import { RedisStore, type RedisStoreOptions } from './redis-store'
import type { RegistryStore } from './store'

export { redactUrl }

/** Used by the Redis backend only; the embedded store has no options. */
export type OpenStoreOptions = Pick<RedisStoreOptions, 'role' | 'prefix' | 'log'>

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<RegistryStore> {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new NmError('NM_BAD_ARGUMENT', 'no registry given: pass redis://HOST:PORT, rediss://HOST:PORT or file:PATH')
  }
  if (/^rediss?:\/\//i.test(spec)) {
    return RedisStore.open(spec, opts)
  }
  if (spec.startsWith('file:')) {
    const file = spec.slice('file:'.length)
    if (file === '') throw new NmError('NM_BAD_ARGUMENT', 'file: registry needs a path, as in file:/var/lib/nodemesh/registry.json')
    const { EmbeddedStore } = require('./embedded-store') as typeof import('./embedded-store')
    return EmbeddedStore.open(file)
  }
  throw new NmError('NM_BAD_ARGUMENT', `unknown registry "${redactUrl(spec)}": want redis://HOST:PORT, rediss://HOST:PORT or file:PATH`)
}
