/**
 * Holds the routing table the listeners read (one reference, swapped per snapshot) and owns
 * the listeners that feed the L7 proxy and the L4 relay. Decisions are made by pure
 * functions (compileRoutingTable, planAccept); this class only does the I/O around them.
 */
import net from 'node:net'
import { DEFAULT_MESH_CONFIG } from '../registry/records'
import type { Snapshot } from '../registry/snapshot'
import { createHttpProxy, type HttpProxy } from './http/http-proxy'
import type { ProxyContext } from './http/proxy-context'
import { compilePolicies } from './authz/compile-policies'
import { BindListeners } from './listeners/bind-listeners'
import { planAccept } from './listeners/plan-listeners'
import type { Logger } from './observe/logger'
import type { Metrics } from './observe/metrics'
import { compileRoutingTable } from './routing/compile-routing-table'
import { EndpointLoad } from './routing/endpoint-load'
import type { RoutingTable } from './routing/routing-table'
import { createTcpRelay, type TcpRelay } from './tcp/tcp-relay'

const EMPTY_TABLE: RoutingTable = {
  revision: 0, dnsDomain: 'mesh', trustDomain: DEFAULT_MESH_CONFIG.trustDomain, nodes: new Map(),
  services: new Map(), byVipPort: new Map(), byDnsName: new Map(), listeners: [], byTarget: new Map(), localSources: new Map(),
  authz: compilePolicies(new Map()), defaultDeny: false,
}

export class DataPlane {
  private current: RoutingTable
  private snapshot: Snapshot | undefined
  readonly listeners: BindListeners
  private readonly http: HttpProxy
  private readonly tcp: TcpRelay

  constructor(private readonly opts: { dnsDomain: string; node: string; log: Logger; metrics: Metrics }) {
    this.current = { ...EMPTY_TABLE, dnsDomain: opts.dnsDomain }
    const ctx: ProxyContext = { table: () => this.current, load: new EndpointLoad(), metrics: opts.metrics, log: opts.log, node: opts.node }
    this.http = createHttpProxy(ctx)
    this.tcp = createTcpRelay(ctx)
    this.listeners = new BindListeners((socket, vipPort) => this.accept(socket, vipPort), opts.log)
  }

  table(): RoutingTable {
    return this.current
  }

  /** True once a table compiled from a snapshot is in place and its listeners were applied. */
  get ready(): boolean {
    return this.snapshot !== undefined
  }

  lastSnapshot(): Snapshot | undefined {
    return this.snapshot
  }

  async apply(snapshot: Snapshot): Promise<void> {
    const { table, warnings } = compileRoutingTable(snapshot, { dnsDomain: this.opts.dnsDomain, localNode: this.opts.node })
    for (const w of warnings) this.opts.log.warn({ revision: snapshot.revision }, w)
    this.current = table
    await this.listeners.apply(table.listeners)
    this.snapshot = snapshot
    this.opts.metrics.registryRevision.set(table.revision)
    this.opts.metrics.listeners.set(this.listeners.openCount)
    this.opts.log.info({ revision: table.revision, services: table.services.size, listeners: this.listeners.openCount }, 'routing table applied')
  }

  /** The HTTP proxy endpoint (15080): routes by Host or absolute-form target. */
  acceptProxyEndpoint(socket: net.Socket): void {
    this.http.handle(socket, { kind: 'proxy-endpoint' })
  }

  private accept(socket: net.Socket, vipPort: string): void {
    const plan = planAccept(this.current, vipPort)
    switch (plan.kind) {
      case 'http': return this.http.handle(socket, { kind: 'vip', vipPort })
      case 'tcp': return this.tcp.handle(socket, vipPort)
      case 'refuse':
        this.opts.log.debug({ vipPort, reason: plan.reason }, 'connection refused')
        socket.resetAndDestroy()
    }
  }

  async close(): Promise<void> {
    await this.listeners.close()
    await Promise.all([this.http.close(), this.tcp.close()])
  }
}
