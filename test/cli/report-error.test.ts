import t from 'tap'
import { CommanderError } from 'commander'
import { NmError } from '../../registry/errors'
import { describeFailure } from '../../cli/report-error'

t.test('failures become one line and an exit code', async (t) => {
  const cases: Array<[unknown, string, number]> = [
    [new NmError('NM_BAD_ARGUMENT', 'port "x" is bad'), 'nodemesh: NM_BAD_ARGUMENT: port "x" is bad', 2],
    [new NmError('NM_BAD_RECORD', 'ports do not fit'), 'nodemesh: NM_BAD_RECORD: ports do not fit', 2],
    [new NmError('NM_NOT_FOUND', 'no such\nservice'), 'nodemesh: NM_NOT_FOUND: no such service', 1],
    [new NmError('NM_REGISTRY_UNREACHABLE', 'down'), 'nodemesh: NM_REGISTRY_UNREACHABLE: down', 1],
    [new CommanderError(1, 'commander.unknownOption', "error: unknown option '--frob'"),
      "nodemesh: NM_BAD_ARGUMENT: unknown option '--frob'; see `nodemesh --help`", 2],
    [new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'x'\n(Did you mean y?)"),
      "nodemesh: NM_BAD_ARGUMENT: unknown command 'x' (Did you mean y?); see `nodemesh --help`", 2],
    [new CommanderError(1, 'commander.help', '(outputHelp)'), 'nodemesh: NM_BAD_ARGUMENT: a command is missing: see `nodemesh --help`', 2],
    [new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), '', 0],
    [new CommanderError(0, 'commander.version', '0.1.0'), '', 0],
    [new Error('boom'), 'nodemesh: NM_INTERNAL: boom', 1],
  ]
  for (const [err, line, code] of cases) {
    const f = describeFailure(err)
    t.equal(f.line, line)
    t.equal(f.exitCode, code, line)
    t.notMatch(f.line, /\n/, 'one line')
  }
})
