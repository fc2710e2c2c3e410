/**
 * `--port` of `nodemesh service create`: `PORT/PROTOCOL` or `NAME=PORT/PROTOCOL`
 * (`80/http`, `9000/tcp`, `grpc=9090/grpc`). The name defaults to `PROTOCOL-PORT`.
 */
import { NmError } from '../registry/errors'
import { isValidName } from '../registry/names'
import { PORT_PROTOCOLS, type PortProtocol, type ServicePort } from '../registry/records'

const SPEC = /^(?:([^=]*)=)?([^/]*)(?:\/(.*))?$/

export function parsePortNumber(text: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new NmError('NM_BAD_ARGUMENT', `${what} "${text}" must be a port number 1..65535`)
  }
  return Number(text)
}

export function parsePortSpec(spec: string): ServicePort {
  const m = SPEC.exec(spec.trim())
  const usage = 'want PORT/PROTOCOL or NAME=PORT/PROTOCOL, e.g. 80/http or grpc=9090/grpc'
  if (!m) throw new NmError('NM_BAD_ARGUMENT', `port "${spec}": ${usage}`)
  const [, name, portText, protocol] = m
  if (protocol === undefined) {
    throw new NmError('NM_BAD_ARGUMENT', `port "${spec}" has no protocol: ${usage} (protocols: ${PORT_PROTOCOLS.join(', ')})`)
  }
  const port = parsePortNumber(portText!, `port "${spec}":`)
  if (!PORT_PROTOCOLS.includes(protocol as PortProtocol)) {
    throw new NmError('NM_BAD_ARGUMENT', `port "${spec}" has protocol "${protocol}": use one of ${PORT_PROTOCOLS.join(', ')}`)
  }
  if (name !== undefined && !isValidName(name)) {
    throw new NmError('NM_BAD_ARGUMENT', `port "${spec}" has name "${name}": a port name must be a DNS label (lowercase letters, digits, '-')`)
  }
  return { name: name ?? `${protocol}-${port}`, port, protocol: protocol as PortProtocol }
}

/** All `--port` values of one service; at least one, no port number or name twice. */
export function parsePortSpecs(specs: readonly string[]): ServicePort[] {
  if (specs.length === 0) throw new NmError('NM_BAD_ARGUMENT', 'a service needs at least one --port PORT/PROTOCOL, e.g. --port 80/http')
  const ports = specs.map(parsePortSpec)
  ports.forEach((p, i) => {
    if (ports.findIndex((q) => q.port === p.port) !== i) throw new NmError('NM_BAD_ARGUMENT', `port ${p.port} is given twice`)
    if (ports.findIndex((q) => q.name === p.name) !== i) throw new NmError('NM_BAD_ARGUMENT', `port name "${p.name}" is given twice`)
  })
  return ports
}
