/**
 * Picks the registry backend from a spec string (`--registry` / NODEMESH_REDIS_URL). Backends
 * load lazily (ioredis, the embedded store), so a CLI command that uses neither loads neither.
 */
import type { Logger } from '../agent/observe/logger'
import { NmError } from './errors'
import { redactUrl } from './redis-connection'
import { RedisStore } from './redis-store'
import type { RegistryStore } from './store'

export { redactUrl }

export interface OpenStoreOptions {
  /** `cli` fails fast when Redis is down; `agent` keeps reconnecting in the background. */
  readonly role?: 'cli' | 'agent'
  /** Redis key prefix (default `{nodemesh}:`). */
  readonly prefix?: string
  readonly log?: Logger
}

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
