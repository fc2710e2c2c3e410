/**
 * `--port` of `nodemesh register`: `TARGET` (only for a service with one port) or
 * `SERVICE_PORT=TARGET`, where SERVICE_PORT is the port number or its name. Resolved against
 * the service's ports into the registry's `service port -> target port` map.
 */
import { NmError } from '../registry/errors'
import type { ServicePort } from '../registry/records'
import { parsePortNumber } from './parse-port-spec'

export interface EndpointPortSpec {
  /** Service port number or name; absent for a bare `TARGET`. */
  readonly servicePort?: string
  readonly target: number
}

export function parseEndpointPortSpec(spec: string): EndpointPortSpec {
  const eq = spec.indexOf('=')
  if (eq < 0) return { target: parsePortNumber(spec.trim(), 'target port') }
  const servicePort = spec.slice(0, eq).trim()
  if (servicePort === '') throw new NmError('NM_BAD_ARGUMENT', `port "${spec}": want SERVICE_PORT=TARGET, e.g. 80=8081`)
  return { servicePort, target: parsePortNumber(spec.slice(eq + 1).trim(), `target port in "${spec}":`) }
}

export function resolveEndpointPorts(
  specs: readonly EndpointPortSpec[], servicePorts: readonly ServicePort[], service: string,
): Record<string, number> {
  const declared = servicePorts.map((p) => `${p.port}/${p.protocol}`).join(', ')
  if (specs.length === 0) throw new NmError('NM_BAD_ARGUMENT', `give --port: service ${service} has ports ${declared}`)
  const bare = specs.filter((s) => s.servicePort === undefined)
  if (bare.length > 0) {
    if (specs.length > 1 || servicePorts.length !== 1) {
      throw new NmError('NM_BAD_ARGUMENT',
        `service ${service} has ports ${declared}: map each one with --port SERVICE_PORT=TARGET (a bare --port N is only for a service with one port)`)
    }
    return { [String(servicePorts[0]!.port)]: bare[0]!.target }
  }
  const out: Record<string, number> = {}
  for (const s of specs) {
    const sp = servicePorts.find((p) => String(p.port) === s.servicePort || p.name === s.servicePort)
    if (!sp) throw new NmError('NM_BAD_ARGUMENT', `service ${service} has no port "${s.servicePort}" (it has ${declared})`)
    const key = String(sp.port)
    if (key in out) throw new NmError('NM_BAD_ARGUMENT', `service port ${key} is mapped twice`)
    out[key] = s.target
  }
  const missing = servicePorts.filter((p) => !(String(p.port) in out)).map((p) => p.port)
  if (missing.length > 0) {
    throw new NmError('NM_BAD_ARGUMENT', `service ${service} port ${missing.join(', ')} needs a target too: add --port ${missing[0]}=TARGET`)
  }
  return out
}
