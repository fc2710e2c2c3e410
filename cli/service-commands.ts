/** `nodemesh service create|delete` and `nodemesh services`. */
import type { Command } from 'commander'
import { NmError } from '../registry/errors'
import { isValidName, parseServiceRef } from '../registry/names'
import { collect, print, withRegistry } from './cli-context'
import { formatServicePort, renderServices } from './format-output'
import { parseDnsName, parseOutputFormat } from './parse-flag-values'
import { parsePortSpecs } from './parse-port-spec'

export function addServiceCommands(program: Command): void {
  const service = program.command('service').description('create or delete a mesh service')

  service.command('create')
    .description('create a service and allocate its VIP')
    .argument('<name>', 'NAME or NAME.NAMESPACE')
    .option('--port <spec>', 'PORT/PROTOCOL or NAME=PORT/PROTOCOL (http, http2, grpc, tcp); repeatable', collect, [])
    .option('--namespace <ns>', 'namespace (default: default)')
    .option('--service-account <sa>', 'service account of its workloads (default: the service name)')
    .action(async (name: string, o: { port: string[]; namespace?: string; serviceAccount?: string }, cmd: Command) => {
      // Every argument is checked before the registry is touched.
      const ref = parseServiceRef(name, o.namespace)
      const ports = parsePortSpecs(o.port)
      const serviceAccount = o.serviceAccount === undefined ? undefined : parseDnsName(o.serviceAccount, '--service-account')
      const svc = await withRegistry(cmd, (reg) => reg.createService({
        name: ref.name, namespace: ref.namespace, ports, ...(serviceAccount ? { serviceAccount } : {}),
      }))
      print(`service ${svc.name}.${svc.namespace} created, VIP ${svc.vip}, ports ${svc.ports.map(formatServicePort).join(', ')}`)
    })

  service.command('delete')
    .description('delete a service with its endpoints, routes and defaults, and free its VIP')
    .argument('<name>', 'NAME or NAME.NAMESPACE')
    .option('--namespace <ns>', 'namespace (default: default)')
    .action(async (name: string, o: { namespace?: string }, cmd: Command) => {
      const ref = parseServiceRef(name, o.namespace)
      await withRegistry(cmd, (reg) => reg.deleteService(ref.namespace, ref.name))
      print(`service ${ref.name}.${ref.namespace} deleted`)
    })

  program.command('services')
    .description('list services')
    .option('--namespace <ns>', 'only this namespace')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (o: { namespace?: string; output: string }, cmd: Command) => {
      const format = parseOutputFormat(o.output)
      if (o.namespace !== undefined && !isValidName(o.namespace)) {
        throw new NmError('NM_BAD_ARGUMENT', `--namespace "${o.namespace}" must be a DNS label (lowercase letters, digits, '-')`)
      }
      const namespace = o.namespace
      const services = await withRegistry(cmd, (reg) => reg.listServices(namespace))
      process.stdout.write(renderServices(services, format))
    })
}
