/**
 * Installs and removes the capture rules: reads the nat table, runs what plan-iptables
 * decides, one `iptables -w` command at a time (execFile, no shell). Fails early, naming
 * what is missing, when the process lacks CAP_NET_ADMIN or iptables is not installed.
 */
import { execFile } from 'node:child_process'
import { NmError } from '../../registry/errors'
import type { Logger } from '../observe/logger'
import { captureProblem, inspectEnvironment, NO_IPTABLES_MESSAGE, NO_PRIVILEGE_MESSAGE } from './check-privileges'
import { CAPTURE_PORT, parseNatState, planInstall, planRemove, type CapturePlanOptions, type IptablesArgs } from './plan-iptables'

export interface IptablesRunOptions {
  /**
   * How to run iptables, program first (default `['iptables']`). A prefix such as
   * `['ip', 'netns', 'exec', NS, 'iptables']` manages the rules of another network namespace.
   */
  readonly command?: readonly string[]
  readonly log?: Logger
}

export interface CaptureRuleOptions extends CapturePlanOptions, IptablesRunOptions {}

export interface CaptureRules {
  /** What was run to install (for logs and tests). */
  readonly applied: readonly IptablesArgs[]
  /** Whether chains or jumps from an earlier run (a crashed agent) were found and replaced. */
  readonly replacedLeftovers: boolean
  /** Removes every jump and both chains; safe to call more than once. */
  remove(): Promise<void>
}

/** Seconds to wait for the xtables lock held by another iptables user before giving up. */
const LOCK_WAIT_S = '10'
const RUN_TIMEOUT_MS = 30_000

export async function installCaptureRules(opts: CaptureRuleOptions): Promise<CaptureRules> {
  const command = resolveCommand(opts.command)
  const before = parseNatState(await runIptables(command, ['-t', 'nat', '-S']))
  const plan = planInstall(before, opts)
  const replacedLeftovers = planRemove(before).length > 0
  try {
    for (const args of plan) await runIptables(command, args)
  } catch (err) {
    // Half-installed rules would capture traffic nobody serves: take them out again.
    await removeWith(command).catch(() => undefined)
    throw err
  }
  opts.log?.info({ vipCidr: opts.vipCidr, capturePort: opts.capturePort ?? CAPTURE_PORT, replacedLeftovers, commands: plan.length }, 'capture rules installed')
  if (replacedLeftovers) opts.log?.warn('replaced capture rules left by an earlier agent that did not exit cleanly')
  let removing: Promise<void> | undefined
  return {
    applied: plan,
    replacedLeftovers,
    remove() {
      removing ??= removeWith(command).then(() => opts.log?.info('capture rules removed'))
      return removing
    },
  }
}

/** Removes capture rules whoever left them (a crashed agent, an interrupted test). */
export async function removeCaptureRules(opts: IptablesRunOptions = {}): Promise<void> {
  await removeWith(resolveCommand(opts.command))
}

async function removeWith(command: readonly string[]): Promise<void> {
  const state = parseNatState(await runIptables(command, ['-t', 'nat', '-S']))
  for (const args of planRemove(state)) await runIptables(command, args)
}

/**
 * Checks privilege and the iptables program before anything runs. A bare `iptables` is
 * resolved to its path, since PATH without /usr/sbin is common for services.
 */
function resolveCommand(command: readonly string[] = ['iptables']): readonly string[] {
  const program = command[command.length - 1] ?? 'iptables'
  const env = inspectEnvironment(program)
  const problem = captureProblem(env)
  if (problem) throw problem
  return [...command.slice(0, -1), env.iptables ?? program]
}

function runIptables(command: readonly string[], args: IptablesArgs): Promise<string> {
  const [file, ...prefix] = command as [string, ...string[]]
  const argv = [...prefix, '-w', LOCK_WAIT_S, ...args]
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: RUN_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) { resolve(stdout); return }
      reject(classifyFailure(`${command.join(' ')} ${argv.slice(prefix.length).join(' ')}`, err.code, err, stderr))
    })
  })
}

/** Turns an iptables failure into the code that says what to do about it. */
export function classifyFailure(what: string, code: unknown, err: Error, stderr: string): NmError {
  const text = stderr.trim() || err.message
  if (code === 'ENOENT') return new NmError('NM_CAPTURE_NO_IPTABLES', NO_IPTABLES_MESSAGE, { cause: err })
  if (/permission denied|you must be root|operation not permitted/i.test(text)) {
    return new NmError('NM_CAPTURE_NO_PRIVILEGE', `${NO_PRIVILEGE_MESSAGE} (${what}: ${text})`, { cause: err })
  }
  const hint = /table does not exist|no chain\/target\/match|extension .* not supported|couldn't load/i.test(text)
    ? ' (the kernel lacks NAT or REDIRECT support: load the iptable_nat/nft_chain_nat and xt_REDIRECT/nft_redir modules)'
    : ''
  return new NmError('NM_CAPTURE_RULES_FAILED', `${what} failed: ${text}${hint}`, { cause: err })
}
