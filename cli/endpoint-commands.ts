/** `nodemesh register`, `nodemesh deregister` and `nodemesh endpoints`. */
import type { Command } from 'commander'
import { NmError } from '../registry/errors'
import { isValidEndpointId, parseServiceRef, serviceKey, serviceKeyOf } from '../registry/names'
import { collect, globalFlags, print, withRegistry } from './cli-context'
import { renderEndpoints } from './format-output'
import { parseEndpointPortSpec, resolveEndpointPorts } from './parse-endpoint-ports'
import { parseAddress, parseLabels, parseNodeName, parseOutputFormat, parseWeight } from './parse-flag-values'

interface RegisterFlags {
  address?: string
  port: string[]
  node?: string
  weight?: string
  label: string[]
}

export function addEndpointCommands(program: Command): void {
  program.command('register')
    .description('register a workload as an endpoint of a service (through the agent: tied to its lease)')
    .argument('<service>', 'NAME or NAME.NAMESPACE')
    .requiredOption('--address <ip>', 'the workload\'s IP address')
    .option('--port <spec>', 'TARGET for a one-port service, else SERVICE_PORT=TARGET; repeatable', collect, [])
    .option('--node <node>', 'node the workload runs on (required with --redis; through the agent, its own node)')
    .option('--weight <w>', 'load-balancing weight 1..1000 (default 1)')
    .option('--label <k=v>', 'label; repeatable', collect, [])
    .action(async (service: string, o: RegisterFlags, cmd: Command) => {
      const ref = parseServiceRef(service)
      const key = serviceKey(ref.namespace, ref.name)
      const address = parseAddress(o.address ?? '', '--address')
      const portSpecs = o.port.map(parseEndpointPortSpec)
      const node = o.node === undefined ? undefined : parseNodeName(o.node)
      const weight = o.weight === undefined ? undefined : parseWeight(o.weight)
      const labels = parseLabels(o.label)
      if (globalFlags(cmd).redis !== undefined && node === undefined) {
        throw new NmError('NM_BAD_ARGUMENT', 'with --redis, register needs --node NODE (the host the workload runs on)')
      }
      const ep = await withRegistry(cmd, async (reg) => {
        const svc = (await reg.listServices(ref.namespace)).find((s) => s.name === ref.name)
        if (!svc) throw new NmError('NM_NOT_FOUND', `service ${key} does not exist: create it with \`nodemesh service create\``)
        const ports = resolveEndpointPorts(portSpecs, svc.ports, key)
        return reg.registerEndpoint({
          service: key, address, ports, labels,
          ...(node !== undefined ? { node } : {}), ...(weight !== undefined ? { weight } : {}),
        })
      })
      print(ep.id)
    })

  program.command('deregister')
    .description('remove an endpoint from a service')
    .argument('<service>', 'NAME or NAME.NAMESPACE')
    .argument('<endpoint-id>', 'as printed by register or listed by endpoints')
    .action(async (service: string, id: string, _o: object, cmd: Command) => {
      const ref = parseServiceRef(service)
      const key = serviceKey(ref.namespace, ref.name)
      if (!isValidEndpointId(id)) throw new NmError('NM_BAD_ARGUMENT', `"${id}" is not an endpoint id: see \`nodemesh endpoints ${key}\``)
      await withRegistry(cmd, (reg) => reg.deregisterEndpoint(key, id))
      print(`endpoint ${id} of ${ref.name}.${ref.namespace} deregistered`)
    })

  program.command('endpoints')
    .description('list the endpoints of a service')
    .argument('<service>', 'NAME or NAME.NAMESPACE')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (service: string, o: { output: string }, cmd: Command) => {
      const format = parseOutputFormat(o.output)
      const key = serviceKeyOf(service)
      const endpoints = await withRegistry(cmd, (reg) => reg.listEndpoints(key))
      process.stdout.write(renderEndpoints(endpoints, format))
    })
}
