/** Text forms of socket addresses, shared by the routing table, the listeners and the tunnel. */

/** `host:port`, with brackets around an IPv6 host: the form routing keys and tunnel addresses take. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; the mesh knows them as `a.b.c.d`. */
export function unmapV4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}
