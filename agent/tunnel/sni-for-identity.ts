/**
 * SNI cannot carry a URI, so a tunnel client names the identity it wants to reach by a hash:
 * `<first 32 hex of sha256(identity)>.id.nodemesh`. The server maps it back to one of the
 * identities it holds; anything else gets the node identity, whose SAN the client's check
 * then refuses, as it must.
 */
import crypto from 'node:crypto'

export const SNI_SUFFIX = '.id.nodemesh'

export function sniForIdentity(identity: string): string {
  return `${crypto.createHash('sha256').update(identity).digest('hex').slice(0, 32)}${SNI_SUFFIX}`
}

export function identityForSni(servername: string | undefined, held: readonly string[], nodeIdentity: string): string {
  const name = (servername ?? '').toLowerCase()
  if (!name.endsWith(SNI_SUFFIX)) return nodeIdentity
  return held.find((identity) => sniForIdentity(identity) === name) ?? nodeIdentity
}
