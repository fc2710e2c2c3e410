/**
 * The original destination of a captured connection, through the project's native addon
 * (native/original_dst.c). The addon is loaded lazily and only by capture mode: when it was
 * not built, capture mode gets a clear NmError and bind mode never notices.
 */
import fs from 'node:fs'
import type net from 'node:net'
import path from 'node:path'
import { NmError } from '../../registry/errors'

export interface OriginalDst {
  readonly address: string
  readonly port: number
}

/** Reads the pre-REDIRECT destination of an accepted socket; throws (errno text) when it cannot. */
export type OriginalDstReader = (socket: net.Socket) => OriginalDst

interface Addon {
  getOriginalDst(fd: number): OriginalDst
}

interface NativeLoader {
  readonly addonPaths: readonly string[]
  load(): Addon | undefined
}

const BUILD_HINT = 'run `npm rebuild` (or `npx node-gyp rebuild -C native` in the package directory; it needs python3, make and a C compiler), or use bind mode without --capture'

let cached: OriginalDstReader | NmError | undefined

/**
 * The reader, or an NM_CAPTURE_UNAVAILABLE error saying why there is none and how to build it.
 * Loaded once per process; `packageRoot` (tests) bypasses the cache.
 */
export function loadOriginalDst(opts: { packageRoot?: string } = {}): OriginalDstReader | NmError {
  if (opts.packageRoot !== undefined) return loadFrom(opts.packageRoot)
  cached ??= loadFrom(findPackageRoot(__dirname))
  return cached
}

/**
 * The package root holds native/: two levels above this file in the source tree
 * (agent/capture), three in dist/ (dist/agent/capture). Walking up finds it from both.
 */
export function findPackageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'native', 'index.js'))) return dir
    if (path.dirname(dir) === dir) return undefined
  }
}

/**
 * Node has no public API for the descriptor of an accepted socket; the TCP handle's `fd`
 * getter (uv_fileno) has long been there on Unix. -1 or absent means no descriptor
 * (Windows, or a socket already destroyed).
 */
export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

function loadFrom(root: string | undefined): OriginalDstReader | NmError {
  if (process.platform !== 'linux') {
    return new NmError('NM_CAPTURE_UNAVAILABLE', `capture mode needs Linux (SO_ORIGINAL_DST); this is ${process.platform}: use bind mode without --capture`)
  }
  if (root === undefined) {
    return new NmError('NM_CAPTURE_UNAVAILABLE', `the native addon directory (native/) was not found above ${__dirname}: reinstall nodemesh, or use bind mode without --capture`)
  }
  let addon: Addon | undefined
  let searched: readonly string[] = []
  try {
    const loader = require(path.join(root, 'native')) as NativeLoader
    searched = loader.addonPaths
    addon = loader.load()
  } catch (err) {
    return new NmError('NM_CAPTURE_UNAVAILABLE', `the native addon for capture mode failed to load (${(err as Error).message}): ${BUILD_HINT}`, { cause: err })
  }
  if (addon === undefined) {
    return new NmError('NM_CAPTURE_UNAVAILABLE', `the native addon for capture mode was not built (looked for ${searched.join(', ')}): ${BUILD_HINT}`)
  }
  const get = addon.getOriginalDst
  return (socket) => {
    const fd = socketFd(socket)
    if (fd === undefined) throw new Error('the socket has no file descriptor (already closed)')
    return get(fd)
  }
}
