/**
 * Who is connecting, from the connection's source address alone, conservatively: a
 * workload's identity only when the address belongs to local endpoints of exactly one
 * identity; loopback (every host process shares it) and anything ambiguous or unknown get
 * the node's own identity. The agent never asserts an identity it cannot attribute.
 */
import { unmapV4 } from '../address-text'
import net from 'node:net'
import { nodeId } from './spiffe'
import type { RoutingTable } from '../routing/routing-table'

export interface SourceAttribution {
  readonly identity: string
  /** `NAMESPACE/NAME` when the source is one service's endpoint. */
  readonly service?: string
  readonly attributed: boolean
  readonly reason: string
}

export function attributeSource(table: RoutingTable, localNode: string, sourceAddress: string | undefined): SourceAttribution {
  const node = nodeId(table.trustDomain, localNode)
  const address = unmapV4(sourceAddress ?? '')
  if (net.isIP(address) === 0) return { identity: node, attributed: false, reason: 'no source address' }
  if (isLoopback(address)) return { identity: node, attributed: false, reason: 'loopback is shared by every process on the host' }
  const owner = table.localSources.get(address)
  if (owner === undefined) return { identity: node, attributed: false, reason: `${address} is no local endpoint` }
  if (owner === 'ambiguous') return { identity: node, attributed: false, reason: `${address} is shared by workloads of several identities` }
  return { identity: owner.identity, ...(owner.service ? { service: owner.service } : {}), attributed: true, reason: `local endpoint address ${address}` }
}

function isLoopback(address: string): boolean {
  return address === '::1' || (net.isIPv4(address) && address.startsWith('127.'))
}
