/**
 * Holds the routing table the listeners read (one reference, swapped per snapshot) and owns
 * the listeners that feed the L7 proxy and the L4 relay. Decisions are made by pure
 * functions (compileRoutingTable, planAccept); this class only does the I/O around them.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { DEFAULT_MESH_CONFIG } from '../registry/records'
import type { Snapshot } from '../registry/snapshot'
import { createHttpProxy, type HttpProxy } from './http/http-proxy'
import type { ProxyContext } from './http/proxy-context'
import type { AuthzMetrics } from './authz/authz-metrics'
import { compilePolicies } from './authz/compile-policies'
import { BindListeners } from './listeners/bind-listeners'
import { firstVipBindable, judgeVipCidr } from './listeners/check-vip-cidr'
import { planAccept } from './listeners/plan-listeners'
import type { Logger } from './observe/logger'
import type { Metrics } from './observe/metrics'
import { compileRoutingTable } from './routing/compile-routing-table'
import { EndpointLoad } from './routing/endpoint-load'
import type { RoutingTable } from './routing/routing-table'
import { planDelivery } from './routing/plan-delivery'
import { createTcpRelay, type TcpRelay } from './tcp/tcp-relay'
import { deliverTcp } from './tunnel/deliver-tcp'
import type { InboundDelivery } from './tunnel/tunnel-server'
import type { TunnelOpener } from './http/upstream-pool'

const EMPTY_TABLE: RoutingTable = {
  revision: 0, dnsDomain: 'mesh', trustDomain: DEFAULT_MESH_CONFIG.trustDomain, nodes: new Map(),
  services: new Map(), byVipPort: new Map(), byDnsName: new Map(), listeners: [], byTarget: new Map(), localSources: new Map(), serviceByIdentity: new Map(),
  authz: compilePolicies(new Map()), defaultDeny: false,
}

export class DataPlane {
  private current: RoutingTable
  private snapshot: Snapshot | undefined
  readonly listeners: BindListeners
  private readonly http: HttpProxy
  private readonly tcp: TcpRelay

  private tunnel: TunnelOpener | undefined
  private checkedCidr: string | undefined

  /** `bind`: open a listener per VIP:port (bind mode); false in capture mode. */
  constructor(private readonly opts: { dnsDomain: string; node: string; log: Logger; metrics: Metrics; authz: AuthzMetrics; bind: boolean; expectedVipCidr?: string }) {
    this.current = { ...EMPTY_TABLE, dnsDomain: opts.dnsDomain }
    // The tunnel comes up after the identity does (or never): read per connection.
    const self = this
    const ctx: ProxyContext = {
      table: () => this.current, load: new EndpointLoad(), metrics: opts.metrics, log: opts.log, node: opts.node, authz: opts.authz,
      get tunnel() { return self.tunnel },
    }
    this.http = createHttpProxy(ctx)
    this.tcp = createTcpRelay(ctx)
    this.listeners = new BindListeners((socket, vipPort) => this.acceptVip(socket, vipPort), opts.log)
  }

  table(): RoutingTable {
    return this.current
  }

  /** Lets traffic to other nodes through the tunnel (undefined: refuse it, NM_NO_IDENTITY). */
  enableTunnel(open: TunnelOpener | undefined): void {
    this.tunnel = open
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
    if (this.opts.bind) await this.listeners.apply(table.listeners)
    this.snapshot = snapshot
    if (snapshot.mesh.vipCidr !== this.checkedCidr) {
      this.checkedCidr = snapshot.mesh.vipCidr
      void this.checkVipCidr(snapshot.mesh.vipCidr)
    }
    this.opts.metrics.registryRevision.set(table.revision)
    this.opts.metrics.listeners.set(this.listeners.openCount)
    this.opts.log.info({ revision: table.revision, services: table.services.size, listeners: this.listeners.openCount }, 'routing table applied')
  }

  /** The HTTP proxy endpoint (15080): routes by Host or absolute-form target. */
  acceptProxyEndpoint(socket: net.Socket): void {
    this.http.handle(socket, { kind: 'proxy-endpoint' })
  }

  /**
   * A CONNECT from another agent, already planned (a workload on this node, not our own
   * ports) and its peer verified. HTTP targets are served by the L7 proxy over the stream and
   * authorized per request; TCP targets are authorized once, here.
   */
  acceptTunnel(d: InboundDelivery): void {
    const { bindings } = d.plan
    const peerService = this.current.serviceByIdentity.get(d.peer.uri)
    const source = { identity: d.peer.uri, ...(peerService ? { service: peerService } : {}) }
    const peerAddress = d.stream.session?.socket?.remoteAddress ?? 'unknown'
    if (bindings.some((b) => b.port.protocol !== 'tcp')) {
      d.respond(200)
      this.http.handle(d.stream, { kind: 'inbound', bindings, source }, peerAddress)
      return
    }
    const table = this.current
    // Every service port served at the target must admit the peer: DENY anywhere wins.
    for (const b of bindings) {
      const plan = planDelivery({ table, localNode: this.opts.node, port: b.port, endpoint: b.endpoint, source, canTunnel: false })
      if (plan.kind !== 'refuse' && plan.kind !== 'direct') continue
      if (plan.decision) this.opts.authz.recordDecision(plan.decision)
      if (plan.kind === 'refuse') {
        this.opts.log.info({ type: 'access', protocol: 'tcp', reporter: 'destination', service: b.port.service, endpoint: b.endpoint.target, source: source.identity, peer: peerAddress, error: plan.code, reason: plan.message })
        d.respond(plan.status, { 'x-nodemesh-error': plan.code, ...(plan.decision?.policy ? { 'x-nodemesh-policy': plan.decision.policy } : {}) })
        return
      }
    }
    const startedAt = performance.now()
    const service = bindings[0]?.port.service
    deliverTcp(d, {
      onClosed: (r) => this.opts.log.info({
        type: 'access', protocol: 'tcp', reporter: 'destination', service, endpoint: bindings[0]?.endpoint.target, source: source.identity,
        peer: peerAddress, bytes_in: r.bytesToWorkload, bytes_out: r.bytesFromWorkload, error: r.error || undefined,
        duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
      }),
    })
  }

  private async checkVipCidr(vipCidr: string): Promise<void> {
    const capture = !this.opts.bind
    const fit = judgeVipCidr(capture, vipCidr, capture ? true : await firstVipBindable(vipCidr), this.opts.expectedVipCidr)
    if (!fit.ok) this.opts.log.error({ vipCidr, mode: capture ? 'capture' : 'bind' }, `NM_MODE_MISMATCH: ${fit.message}`)
  }

  /** A connection to a VIP:port, from a bind-mode listener or captured (never relayed elsewhere). */
  acceptVip(socket: net.Socket, vipPort: string): void {
    const plan = planAccept(this.current, vipPort)
    switch (plan.kind) {
      case 'http': return this.http.handle(socket, { kind: 'vip', vipPort })
      case 'tcp': return this.tcp.handle(socket, vipPort)
      case 'refuse':
        this.opts.metrics.connectionsRefused.labels({ reason: 'no-service' }).inc()
        this.opts.log.info({ type: 'access', protocol: 'tcp', destination: vipPort, client: socket.remoteAddress, error: 'NM_UNKNOWN_SERVICE', reason: plan.reason })
        socket.resetAndDestroy()
    }
  }

  async close(): Promise<void> {
    await this.listeners.close()
    await Promise.all([this.http.close(), this.tcp.close()])
  }
}
