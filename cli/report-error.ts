/**
 * Turns any failure into the one line the CLI prints on stderr and its exit code:
 * 2 for a bad argument (the command line needs fixing), 1 for everything else.
 */
import { NmError } from '../registry/errors'

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_BAD_ARGUMENT = 2

export interface Failure {
  /** Empty when nothing should be printed (help or version was shown). */
  readonly line: string
  readonly exitCode: number
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

/** Commander's own errors (unknown option, missing argument, ...) carry a `commander.*` code. */
function commanderCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('commander.') ? code : undefined
}

export function describeFailure(err: unknown): Failure {
  const cmd = commanderCode(err)
  if (cmd !== undefined) {
    if (cmd === 'commander.helpDisplayed' || cmd === 'commander.version') return { line: '', exitCode: EXIT_OK }
    if (cmd === 'commander.help' || cmd === 'commander.executeSubCommandAsync') {
      return { line: 'nodemesh: NM_BAD_ARGUMENT: a command is missing: see `nodemesh --help`', exitCode: EXIT_BAD_ARGUMENT }
    }
    const message = oneLine((err as Error).message).replace(/^error: /, '').replace(/\.$/, '')
    return { line: `nodemesh: NM_BAD_ARGUMENT: ${message}; see \`nodemesh --help\``, exitCode: EXIT_BAD_ARGUMENT }
  }
  if (err instanceof NmError) {
    const badInput = err.code === 'NM_BAD_ARGUMENT' || err.code === 'NM_BAD_RECORD'
    return { line: `nodemesh: ${oneLine(err.message)}`, exitCode: badInput ? EXIT_BAD_ARGUMENT : EXIT_FAILED }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { line: `nodemesh: NM_INTERNAL: ${oneLine(message)}`, exitCode: EXIT_FAILED }
}
