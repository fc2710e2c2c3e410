/**
 * What every registry command needs from the program: the global flags, a way to open the
 * chosen registry for the length of one action, and stdout.
 */
import type { Command } from 'commander'
import { defaultStateDir } from '../agent/agent-options'
import { parseRedisUrl } from './parse-flag-values'
import { chooseRegistryTarget, openRegistry, type GlobalFlags, type RegistryBackend } from './open-registry'

/** Global flags from any (sub)command; an empty NODEMESH_REDIS_URL counts as not set. */
export function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.optsWithGlobals<{ redis?: string; stateDir?: string; apiSocket?: string }>()
  const redis = o.redis ? parseRedisUrl(o.redis) : undefined
  return {
    ...(redis ? { redis } : {}),
    stateDir: o.stateDir || defaultStateDir(),
    ...(o.apiSocket ? { apiSocket: o.apiSocket } : {}),
  }
}

/** Runs `work` against the registry and always closes it, so the process can exit. */
export async function withRegistry<T>(cmd: Command, work: (reg: RegistryBackend) => Promise<T>): Promise<T> {
  const reg = await openRegistry(chooseRegistryTarget(globalFlags(cmd)))
  try {
    return await work(reg)
  } finally {
    await reg.close().catch(() => undefined)
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

/** Repeatable flags collect into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}
