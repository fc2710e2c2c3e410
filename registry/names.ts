import { NmError } from './errors'

export const DEFAULT_NAMESPACE = 'default'

/** DNS-label rules (RFC 1123), as Kubernetes uses for names and namespaces. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

export function isValidName(s: string): boolean {
  return LABEL.test(s)
}

/** Node names default to the hostname, which may carry uppercase letters or underscores. */
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/

export function isValidNodeName(s: string): boolean {
  return NODE_NAME.test(s)
}

/** DNS names (RFC 1123 subdomains) without the length limit, which callers report themselves. */
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function isValidDnsName(s: string): boolean {
  return DNS_NAME.test(s)
}

/** Kubernetes label keys, `[PREFIX/]NAME`, without the overall length limit. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/

export function isValidLabelKey(s: string): boolean {
  return LABEL_KEY.test(s)
}

const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export function isValidEndpointId(s: string): boolean {
  return ENDPOINT_ID.test(s)
}

/** The registry key of a service: `NAMESPACE/NAME`. */
export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`
}

export function splitServiceKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/')
  if (slash <= 0) throw new NmError('NM_BAD_ARGUMENT', `"${key}" is not a service key (want NAMESPACE/NAME)`)
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) }
}

/**
 * Parses a service reference as users type it: `NAME`, `NAME.NAMESPACE` or `NAMESPACE/NAME`,
 * with an explicit `--namespace` taking effect only when the reference names none.
 */
export function parseServiceRef(ref: string, namespace?: string): { namespace: string; name: string } {
  let name = ref
  let ns = namespace ?? DEFAULT_NAMESPACE
  if (ref.includes('/')) ({ namespace: ns, name } = splitServiceKey(ref))
  else if (ref.includes('.')) {
    const dot = ref.indexOf('.')
    name = ref.slice(0, dot)
    ns = ref.slice(dot + 1)
  }
  if (!isValidName(name)) throw new NmError('NM_BAD_ARGUMENT', `service name "${name}" must be a DNS label (lowercase letters, digits, '-')`)
  if (!isValidName(ns)) throw new NmError('NM_BAD_ARGUMENT', `namespace "${ns}" must be a DNS label (lowercase letters, digits, '-')`)
  return { namespace: ns, name }
}

/** The registry key a service reference names (see parseServiceRef). */
export function serviceKeyOf(ref: string): string {
  const r = parseServiceRef(ref)
  return serviceKey(r.namespace, r.name)
}
