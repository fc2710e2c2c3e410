/**
 * Bind mode: one listener per service VIP:port, opened and closed as tables change without
 * disturbing the others. A listener that cannot bind (a port below 1024 without
 * CAP_NET_BIND_SERVICE, an address already taken) is reported and retried on the next apply.
 */
import net from 'node:net'
import type { Logger } from '../observe/logger'
import type { ListenerSpec } from '../routing/routing-table'
import { diffListeners } from './plan-listeners'

export interface ListenerFailure {
  readonly key: string
  readonly error: string
}

export class BindListeners {
  private readonly servers = new Map<string, net.Server>()
  private readonly failures = new Map<string, ListenerFailure>()
  private applying: Promise<void> = Promise.resolve()

  constructor(
    private readonly onConnection: (socket: net.Socket, vipPort: string) => void,
    private readonly log: Logger,
  ) {}

  /** Serialized: a newer table waits for the previous apply, so binds never race each other. */
  apply(desired: readonly ListenerSpec[]): Promise<void> {
    this.applying = this.applying.then(() => this.reconcile(desired))
    return this.applying
  }

  get openCount(): number {
    return this.servers.size
  }

  failed(): readonly ListenerFailure[] {
    return [...this.failures.values()]
  }

  keys(): string[] {
    return [...this.servers.keys()].sort()
  }

  async close(): Promise<void> {
    await this.applying
    await Promise.all([...this.servers.keys()].map((key) => this.closeOne(key)))
  }

  private async reconcile(desired: readonly ListenerSpec[]): Promise<void> {
    const diff = diffListeners(new Set(this.servers.keys()), desired)
    const wanted = new Set(desired.map((s) => s.key))
    for (const key of this.failures.keys()) if (!wanted.has(key)) this.failures.delete(key)
    await Promise.all([...diff.close.map((key) => this.closeOne(key)), ...diff.open.map((spec) => this.openOne(spec))])
  }

  private openOne(spec: ListenerSpec): Promise<void> {
    return new Promise((resolve) => {
      // allowHalfOpen: a TCP client that shuts down its write side still gets the reply.
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.onConnection(socket, spec.key))
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EACCES'
          ? ' (ports below 1024 need CAP_NET_BIND_SERVICE, or sysctl net.ipv4.ip_unprivileged_port_start=0)'
          : err.code === 'EADDRNOTAVAIL' ? ' (the VIP is not on a local interface: bind mode needs the VIP CIDR on loopback)' : ''
        const failure = { key: spec.key, error: `${err.code ?? 'ERROR'}: ${err.message}${hint}` }
        this.failures.set(spec.key, failure)
        this.log.error({ listener: spec.key, service: spec.service, err: failure.error }, `NM_LISTEN_FAILED: cannot listen on ${spec.key}${hint}`)
        resolve()
      })
      server.listen({ host: spec.vip, port: spec.port, exclusive: true }, () => {
        this.servers.set(spec.key, server)
        this.failures.delete(spec.key)
        this.log.info({ listener: spec.key, service: spec.service, protocol: spec.protocol }, 'listener opened')
        resolve()
      })
    })
  }

  /** Stops accepting; connections already accepted finish on their own. */
  private closeOne(key: string): Promise<void> {
    const server = this.servers.get(key)
    if (!server) return Promise.resolve()
    this.servers.delete(key)
    return new Promise((resolve) => {
      server.close(() => resolve())
      this.log.info({ listener: key }, 'listener closed')
      // close() waits for open connections; the listening socket itself is gone at once.
      setImmediate(resolve)
    })
  }
}
