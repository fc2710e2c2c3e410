#!/usr/bin/env node
/**
 * The `nodemesh` command. Only commander and the small flag parsers load up front; Redis,
 * gRPC and the agent load inside the actions that need them, so help and argument errors
 * answer at once.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Command, Option } from 'commander'
import { addAgentCommand } from './agent-command'
import { addCaCommands } from './ca-commands'
import { addEndpointCommands } from './endpoint-commands'
import { addMeshCommands } from './mesh-commands'
import { addPolicyCommands } from './policy-commands'
import { describeFailure } from './report-error'
import { addServiceCommands } from './service-commands'

export function buildProgram(): Command {
  const program = new Command('nodemesh')
    .description('a service mesh without sidecars: one agent per host')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--redis <url>', 'talk to the registry in Redis directly instead of the local agent').env('NODEMESH_REDIS_URL'))
    .addOption(new Option('--state-dir <dir>', 'agent state directory (holds agent.sock)').env('NODEMESH_STATE_DIR'))
    .option('--api-socket <path>', 'the agent API socket (default STATE_DIR/agent.sock)')
    .configureHelp({ showGlobalOptions: true })
  addAgentCommand(program)
  addServiceCommands(program)
  addEndpointCommands(program)
  addMeshCommands(program)
  addCaCommands(program)
  addPolicyCommands(program)
  // Errors become one line on stderr (see report-error.ts), never a usage dump.
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    cmd.commands.forEach(quiet)
  }
  quiet(program)
  return program
}

/** package.json sits two levels up from dist/cli, one level up from the source. */
function packageVersion(): string {
  for (const up of [['..', '..'], ['..']]) {
    const file = path.join(__dirname, ...up, 'package.json')
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version
  }
  return 'unknown'
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    const failure = describeFailure(err)
    if (failure.line) process.stderr.write(`${failure.line}\n`)
    return failure.exitCode
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    // Open handles (a Redis client winding down) must not keep a finished command alive.
    process.exit(code)
  }, (err: unknown) => {
    process.stderr.write(`nodemesh: NM_INTERNAL: ${String(err)}\n`)
    process.exit(1)
  })
}
