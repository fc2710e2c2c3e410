/**
 * Decides what a registration or deregistration through the agent may do. An agent speaks only
 * for its own node: what it registers carries its node and its lease (so the endpoint dies
 * with the agent), and it never touches another node's endpoints.
 */
import net from 'node:net'
import { NmError } from '../../registry/errors'
import { serviceKeyOf } from '../../registry/names'
import type { Endpoint, EndpointHealth } from '../../registry/records'
import type { RegisterEndpointInput } from '../../registry/store'

/**
 * A RegisterEndpoint request as decoded from the wire (zero values mean "not given"): the
 * endpoint record's own fields, with health as the raw string (`''` when not given).
 */
export type RegistrationRequest = Omit<Endpoint, 'id' | 'health' | 'lease' | 'createdAt'> & { readonly health: string }

export function planAgentRegistration(req: RegistrationRequest, agentNode: string): RegisterEndpointInput {
  if (req.node && req.node !== agentNode) {
    throw new NmError('NM_BAD_ARGUMENT',
      `this agent registers endpoints on node ${agentNode} only: register on ${req.node} through that node's agent, or as a static endpoint with --redis URL --node ${req.node}`)
  }
  const service = serviceKeyOf(req.service)
  if (net.isIP(req.address) === 0) throw new NmError('NM_BAD_ARGUMENT', `endpoint address "${req.address}" is not an IP address`)
  const entries = Object.entries(req.ports)
  if (entries.length === 0) throw new NmError('NM_BAD_ARGUMENT', 'an endpoint needs at least one port: give --port')
  for (const [svcPort, target] of entries) {
    if (!Number.isInteger(target) || target < 1 || target > 65535) {
      throw new NmError('NM_BAD_ARGUMENT', `target port ${target} for service port ${svcPort} must be 1..65535`)
    }
  }
  if (req.weight !== 0 && (req.weight < 1 || req.weight > 1000)) {
    throw new NmError('NM_BAD_ARGUMENT', `weight ${req.weight} must be 1..1000`)
  }
  if (req.health !== '' && req.health !== 'healthy' && req.health !== 'unhealthy') {
    throw new NmError('NM_BAD_ARGUMENT', `health "${req.health}" must be healthy or unhealthy`)
  }
  return {
    service,
    node: agentNode,
    address: req.address,
    ports: { ...req.ports },
    ...(req.weight !== 0 ? { weight: req.weight } : {}),
    labels: { ...req.labels },
    ...(req.health !== '' ? { health: req.health as EndpointHealth } : {}),
    lease: agentNode,
  }
}

/** Refuses to deregister an endpoint that belongs to another node. */
export function checkAgentDeregistration(ep: Endpoint, agentNode: string): void {
  if (ep.node !== agentNode) {
    throw new NmError('NM_BAD_ARGUMENT',
      `endpoint ${ep.id} is on node ${ep.node}, not this agent's node ${agentNode}: deregister it through that node's agent, or with --redis URL`)
  }
}
