/**
 * Pure planning of the capture rules in table nat. The agent owns two chains, NODEMESH-OUTPUT
 * (host processes) and NODEMESH-PREROUTING (pods and containers), each reached by exactly one
 * jump. Plans start from the current state (`iptables -t nat -S`), so a restart after a crash
 * flushes and refills the chains instead of adding a second copy, and extra jumps go.
 */
import { NmError } from '../../registry/errors'
import { AGENT_DEFAULTS } from '../agent-options'

export const OUTPUT_CHAIN = 'NODEMESH-OUTPUT'
export const PREROUTING_CHAIN = 'NODEMESH-PREROUTING'
export const CAPTURE_PORT = AGENT_DEFAULTS.capturePort

/** Arguments to `iptables` (without the binary and `-w`). */
export type IptablesArgs = readonly string[]

/**
 * Traffic never captured: the agent's own upstream connections, told apart by the owner of
 * the socket (uid/gid, as Istio's proxy uid 1337) or a packet mark.
 */
export interface CaptureExclusion {
  readonly uid?: number
  readonly gid?: number
  readonly mark?: number
}

export interface CapturePlanOptions {
  /** IPv4 CIDR of the VIPs, e.g. 240.240.0.0/16. */
  readonly vipCidr: string
  /** Where captured connections go (default 15001). */
  readonly capturePort?: number
  readonly exclude?: CaptureExclusion
}

export interface NatRule {
  readonly chain: string
  /** The rule as `-S` prints it after `-A CHAIN`, split into arguments. */
  readonly spec: readonly string[]
}

export interface NatState {
  readonly chains: ReadonlySet<string>
  readonly rules: readonly NatRule[]
}

/** Our chains, each with the built-in chain that jumps into it. */
const HOOKS: ReadonlyArray<{ readonly from: string; readonly chain: string }> = [
  { from: 'OUTPUT', chain: OUTPUT_CHAIN },
  { from: 'PREROUTING', chain: PREROUTING_CHAIN },
]
const OURS = new Set(HOOKS.map((h) => h.chain))

/** Reads `iptables -t nat -S`: user chains (`-N`) and rules (`-A`); policies are ignored. */
export function parseNatState(text: string): NatState {
  const chains = new Set<string>()
  const rules: NatRule[] = []
  for (const line of text.split('\n')) {
    const args = splitArgs(line.trim())
    if (args[0] === '-N' && args[1] !== undefined) chains.add(args[1])
    else if (args[0] === '-A' && args[1] !== undefined) rules.push({ chain: args[1], spec: args.slice(2) })
  }
  return { chains, rules }
}

/**
 * Commands that leave exactly the wanted state: both chains present and holding only the
 * current rules (exclusions first, then the REDIRECT), and one jump into each. New jumps
 * are inserted before stale ones are deleted, so capture never lapses across a restart.
 */
export function planInstall(current: NatState | string, opts: CapturePlanOptions): IptablesArgs[] {
  const state = typeof current === 'string' ? parseNatState(current) : current
  const port = opts.capturePort ?? CAPTURE_PORT
  validate(opts.vipCidr, port, opts.exclude)
  const plan: IptablesArgs[] = []
  for (const { chain } of HOOKS) plan.push(nat(state.chains.has(chain) ? '-F' : '-N', chain))
  for (const { from, chain } of HOOKS) {
    for (const spec of exclusionSpecs(from, opts.exclude)) plan.push(nat('-A', chain, ...spec))
    plan.push(nat('-A', chain, '-d', opts.vipCidr, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(port)))
  }
  const { keep, stale } = classifyJumps(state)
  for (const { from, chain } of HOOKS) if (!keep.has(chain)) plan.push(nat('-I', from, '1', ...jumpSpec(chain)))
  for (const rule of stale) plan.push(nat('-D', rule.chain, ...rule.spec))
  return plan
}

/** Commands that remove every jump into our chains, then the chains. Empty when nothing is left. */
export function planRemove(current: NatState | string): IptablesArgs[] {
  const state = typeof current === 'string' ? parseNatState(current) : current
  const plan: IptablesArgs[] = state.rules.filter(isJumpToOurs).map((r) => nat('-D', r.chain, ...r.spec))
  for (const { chain } of HOOKS) if (state.chains.has(chain)) plan.push(nat('-F', chain), nat('-X', chain))
  return plan
}

/** How many rules in chain `from` jump to `chain` (one after an install, none after a removal). */
export function jumpCount(state: NatState, from: string, chain: string): number {
  return state.rules.filter((r) => r.chain === from && targetOf(r.spec) === chain).length
}

/** The one jump per chain we keep: the first with exactly the wanted spec. Any other jump into our chains is stale. */
function classifyJumps(state: NatState): { keep: Set<string>; stale: NatRule[] } {
  const keep = new Set<string>()
  const stale: NatRule[] = []
  for (const rule of state.rules.filter(isJumpToOurs)) {
    const target = targetOf(rule.spec) as string
    const wanted = HOOKS.some((h) => h.from === rule.chain && h.chain === target) && sameArgs(rule.spec, jumpSpec(target))
    if (wanted && !keep.has(target)) keep.add(target)
    else stale.push(rule)
  }
  return { keep, stale }
}

function jumpSpec(chain: string): string[] {
  return ['-p', 'tcp', '-j', chain]
}

/**
 * Owner matches exist only for locally generated packets (OUTPUT); a mark can be matched in
 * both chains, so it applies to both.
 */
function exclusionSpecs(from: string, ex: CaptureExclusion | undefined): string[][] {
  if (!ex) return []
  const specs: string[][] = []
  if (from === 'OUTPUT' && ex.uid !== undefined) specs.push(['-m', 'owner', '--uid-owner', String(ex.uid), '-j', 'RETURN'])
  if (from === 'OUTPUT' && ex.gid !== undefined) specs.push(['-m', 'owner', '--gid-owner', String(ex.gid), '-j', 'RETURN'])
  if (ex.mark !== undefined) specs.push(['-m', 'mark', '--mark', `0x${ex.mark.toString(16)}`, '-j', 'RETURN'])
  return specs
}

function isJumpToOurs(rule: NatRule): boolean {
  const target = targetOf(rule.spec)
  return target !== undefined && OURS.has(target)
}

function targetOf(spec: readonly string[]): string | undefined {
  const i = spec.lastIndexOf('-j')
  return i >= 0 ? spec[i + 1] : undefined
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function nat(...args: string[]): IptablesArgs {
  return ['-t', 'nat', ...args]
}

/** Splits one `-S` line; iptables double-quotes arguments with spaces (comments) and escapes `"` inside. */
export function splitArgs(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let inArg = false
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i]
      else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') {
      quoted = true
      inArg = true
    } else if (c === ' ' || c === '\t') {
      if (inArg) out.push(cur)
      cur = ''
      inArg = false
    } else {
      cur += c
      inArg = true
    }
  }
  if (inArg) out.push(cur)
  return out
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/

function validate(cidr: string, port: number, ex: CaptureExclusion | undefined): void {
  const m = CIDR.exec(cidr)
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new NmError('NM_BAD_ARGUMENT', `--vip-cidr ${JSON.stringify(cidr)} is not an IPv4 CIDR such as 240.240.0.0/16`)
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NmError('NM_BAD_ARGUMENT', `capture port ${port} is not a TCP port (1-65535)`)
  for (const [name, v] of [['uid', ex?.uid], ['gid', ex?.gid]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xfffffffe)) throw new NmError('NM_BAD_ARGUMENT', `excluded ${name} ${v} is not a valid ${name}`)
  }
  const mark = ex?.mark
  if (mark !== undefined && (!Number.isInteger(mark) || mark < 1 || mark > 0xffffffff)) {
    throw new NmError('NM_BAD_ARGUMENT', `excluded packet mark ${mark} must be an integer from 1 to 0xffffffff`)
  }
}
