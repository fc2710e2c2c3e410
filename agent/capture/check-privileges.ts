/**
 * What capture mode lacks on this host, said before any iptables command runs: the
 * CAP_NET_ADMIN capability (root has it unless a container dropped it) and the iptables
 * program. The decisions are pure; reading /proc and PATH is the thin part.
 */
import fs from 'node:fs'
import path from 'node:path'
import { NmError } from '../../registry/errors'

/** Bit number of CAP_NET_ADMIN in the capability sets (linux/capability.h). */
export const CAP_NET_ADMIN = 12

export const NO_PRIVILEGE_MESSAGE = 'capture mode needs root or CAP_NET_ADMIN: run as root, or give the binary the capability, or use bind mode without --capture'
export const NO_IPTABLES_MESSAGE = 'iptables is not installed: apt-get install iptables'

/** The effective capability set from /proc/PID/status text, or undefined when it is not there. */
export function parseEffectiveCaps(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status)
  return m ? BigInt(`0x${m[1]}`) : undefined
}

export function hasCapability(caps: bigint, bit: number): boolean {
  return ((caps >> BigInt(bit)) & 1n) === 1n
}

export interface CaptureEnvironment {
  /** Effective capabilities; undefined when unknown (no /proc), which is not held against us. */
  readonly caps: bigint | undefined
  /** Path of iptables, or undefined when it is nowhere to be found. */
  readonly iptables: string | undefined
}

/**
 * The error for what is missing, or undefined when capture can be attempted. When both are
 * missing the message says both, so one run tells the operator everything to fix.
 */
export function captureProblem(env: CaptureEnvironment): NmError | undefined {
  const noPrivilege = env.caps !== undefined && !hasCapability(env.caps, CAP_NET_ADMIN)
  const noIptables = env.iptables === undefined
  if (noPrivilege && noIptables) return new NmError('NM_CAPTURE_NO_PRIVILEGE', `${NO_PRIVILEGE_MESSAGE}; and ${NO_IPTABLES_MESSAGE}`)
  if (noPrivilege) return new NmError('NM_CAPTURE_NO_PRIVILEGE', NO_PRIVILEGE_MESSAGE)
  if (noIptables) return new NmError('NM_CAPTURE_NO_IPTABLES', NO_IPTABLES_MESSAGE)
  return undefined
}

/**
 * Where `name` is: on PATH, or in the sbin directories a non-login root shell may lack on
 * PATH. An explicit path is taken as it is, if it exists.
 */
export function findExecutable(name: string, envPath: string | undefined, exists: (p: string) => boolean = isExecutable): string | undefined {
  if (name.includes('/')) return exists(name) ? name : undefined
  const dirs = [...(envPath ?? '').split(path.delimiter).filter((d) => d !== ''), '/usr/sbin', '/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    const candidate = path.join(dir, name)
    if (exists(candidate)) return candidate
  }
  return undefined
}

/** This process: its effective capabilities and where iptables is. */
export function inspectEnvironment(iptables = 'iptables'): CaptureEnvironment {
  let status = ''
  try { status = fs.readFileSync('/proc/self/status', 'utf8') } catch { /* no /proc: unknown */ }
  return { caps: parseEffectiveCaps(status), iptables: findExecutable(iptables, process.env.PATH) }
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK)
    return fs.statSync(p).isFile()
  } catch {
    return false
  }
}
