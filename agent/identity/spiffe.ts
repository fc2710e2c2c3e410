/**
 * SPIFFE IDs as the mesh uses them. Workloads: `spiffe://TD/ns/NS/sa/SA`. A node's agent,
 * for traffic it cannot attribute to a workload: `spiffe://TD/node/NODE` (no namespace, so
 * namespace rules never match it). Parsing is strict: anything else is not an identity.
 */
export type SpiffeId =
  | { readonly kind: 'workload'; readonly trustDomain: string; readonly namespace: string; readonly serviceAccount: string; readonly uri: string }
  | { readonly kind: 'node'; readonly trustDomain: string; readonly node: string; readonly uri: string }

const TRUST_DOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
const SEGMENT = /^[A-Za-z0-9]([-A-Za-z0-9._]{0,251}[A-Za-z0-9])?$/

export function workloadId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`
}

export function nodeId(trustDomain: string, node: string): string {
  return `spiffe://${trustDomain}/node/${node}`
}

export function parseSpiffeId(uri: string): SpiffeId | undefined {
  if (!uri.startsWith('spiffe://') || uri.length > 2048) return undefined
  const rest = uri.slice('spiffe://'.length)
  const parts = rest.split('/')
  const td = parts[0] ?? ''
  if (!TRUST_DOMAIN.test(td) || td.includes('..')) return undefined
  if (parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' && SEGMENT.test(parts[2] ?? '') && SEGMENT.test(parts[4] ?? '')) {
    return { kind: 'workload', trustDomain: td, namespace: parts[2] as string, serviceAccount: parts[4] as string, uri }
  }
  if (parts.length === 3 && parts[1] === 'node' && SEGMENT.test(parts[2] ?? '')) {
    return { kind: 'node', trustDomain: td, node: parts[2] as string, uri }
  }
  return undefined
}
