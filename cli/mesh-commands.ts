/** `nodemesh mesh init|show` and `nodemesh status`. */
import type { Command } from 'commander'
import { NmError } from '../registry/errors'
import type { MeshConfig } from '../registry/records'
import { globalFlags, print, withRegistry } from './cli-context'
import { renderMesh, renderStatus } from './format-output'
import { agentSocketPath } from './open-registry'
import { parseDnsName, parseOutputFormat, parseVipCidr } from './parse-flag-values'

export function addMeshCommands(program: Command): void {
  const mesh = program.command('mesh').description('mesh-wide settings')

  mesh.command('init')
    .description('set the VIP CIDR, trust domain and default-deny switch (unset ones keep their value or default)')
    .option('--vip-cidr <cidr>', 'IPv4 CIDR service VIPs are allocated from (default 127.77.0.0/16)')
    .option('--trust-domain <td>', 'SPIFFE trust domain (default nodemesh.local)')
    .option('--default-deny <bool>', 'true: a service without ALLOW policies admits nobody (default false)')
    .action(async (o: { vipCidr?: string; trustDomain?: string; defaultDeny?: string }, cmd: Command) => {
      const patch: { -readonly [K in keyof MeshConfig]?: MeshConfig[K] } = {}
      if (o.vipCidr !== undefined) patch.vipCidr = parseVipCidr(o.vipCidr)
      if (o.trustDomain !== undefined) patch.trustDomain = parseDnsName(o.trustDomain, '--trust-domain')
      if (o.defaultDeny !== undefined) patch.defaultDeny = parseTrueFalse(o.defaultDeny, '--default-deny')
      const result = await withRegistry(cmd, (reg) => reg.initMesh(patch))
      print(`mesh initialised: VIP CIDR ${result.vipCidr}, trust domain ${result.trustDomain}, default deny ${result.defaultDeny}`)
    })

  mesh.command('show')
    .description('show the mesh settings')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (o: { output: string }, cmd: Command) => {
      const format = parseOutputFormat(o.output)
      const result = await withRegistry(cmd, (reg) => reg.getMesh())
      process.stdout.write(renderMesh(result, format))
    })

  program.command('status')
    .description('show the local agent\'s status (always asks the agent, never Redis)')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (o: { output: string }, cmd: Command) => {
      const format = parseOutputFormat(o.output)
      const flags = globalFlags(cmd)
      const { connectAgentApi } = require('../agent/api/agent-api-client') as typeof import('../agent/api/agent-api-client')
      const client = connectAgentApi(agentSocketPath(flags))
      try {
        process.stdout.write(renderStatus(await client.getStatus(), format))
      } finally {
        await client.close()
      }
    })
}

/** Only the two words: a typo such as `--default-deny ture` must not silently mean false. */
export function parseTrueFalse(text: string, flag: string): boolean {
  if (text === 'true') return true
  if (text === 'false') return false
  throw new NmError('NM_BAD_ARGUMENT', `${flag} "${text}" must be true or false`)
}
