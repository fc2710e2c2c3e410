/** `host:port`, with brackets around an IPv6 host: the form routing keys and tunnel addresses take. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
