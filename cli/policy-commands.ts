/** `nodemesh policy allow|deny|delete` and `nodemesh policies`. */
import type { Command } from 'commander'
import { NmError } from '../registry/errors'
import { isValidName } from '../registry/names'
import type { PolicyAction } from '../registry/records'
import { collect, print, withRegistry } from './cli-context'
import { renderPolicies } from './format-policies'
import { parseOutputFormat } from './parse-flag-values'
import { buildPolicy, type PolicyFlags } from './parse-policy-flags'

function addRuleCommand(policy: Command, action: PolicyAction): void {
  const verb = action.toLowerCase()
  policy.command(verb)
    .description(action === 'ALLOW'
      ? 'allow matching requests; once a service has an ALLOW policy, requests that match none are denied'
      : 'deny matching requests, whatever any ALLOW policy says')
    .option('--to <service>', "the destination service: NAME, NAME.NAMESPACE, or '*' for every service")
    .option('--from <service>', 'source service NAME or NAME.NAMESPACE; repeatable', collect, [])
    .option('--from-namespace <ns>', "source namespace, or '*' for any workload; repeatable", collect, [])
    .option('--from-identity <id>', "source SPIFFE ID spiffe://TD/ns/NS/sa/SA, '*', PREFIX* or *SUFFIX; repeatable", collect, [])
    .option('--port <port>', 'destination service port; repeatable', collect, [])
    .option('--method <method>', 'HTTP method such as GET; repeatable', collect, [])
    .option('--path <path>', 'HTTP path: exact /a, prefix /a/*, suffix *.png or *; repeatable', collect, [])
    .option('--name <name>', 'policy name (default: derived from the rule, the same for the same rule)')
    .action(async (o: PolicyFlags, cmd: Command) => {
      const record = buildPolicy(action, o)
      const saved = await withRegistry(cmd, (reg) => reg.putPolicy(record))
      print(`policy ${saved.name} saved`)
    })
}

export function addPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('authorization policies: who may reach a service, on which ports, methods and paths')
  addRuleCommand(policy, 'ALLOW')
  addRuleCommand(policy, 'DENY')

  policy.command('delete')
    .description('delete a policy')
    .argument('<name>', 'policy name, as `nodemesh policies` lists it')
    .action(async (name: string, _o: object, cmd: Command) => {
      if (!isValidName(name)) throw new NmError('NM_BAD_ARGUMENT', `policy name "${name}" must be a DNS label (lowercase letters, digits, '-')`)
      await withRegistry(cmd, (reg) => reg.deletePolicy(name))
      print(`policy ${name} deleted`)
    })

  program.command('policies')
    .description('list authorization policies')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (o: { output: string }, cmd: Command) => {
      const format = parseOutputFormat(o.output)
      const policies = await withRegistry(cmd, (reg) => reg.listPolicies())
      process.stdout.write(renderPolicies(policies, format))
    })
}
