/**
 * For one client connection: who is asking (the verified tunnel peer, or attributed from the
 * client address, kept per table revision since it is the same for every request until the
 * table changes) and how each request's endpoint is reached (planDelivery), counting the
 * authorization decisions made on the way.
 */
import { attributeSource } from '../identity/attribute-source'
import { planDelivery, type DeliverySource } from '../routing/plan-delivery'
import type { CompiledEndpoint, CompiledPort } from '../routing/routing-table'
import { reject, type HttpRejection } from './http-error-response'
import type { HttpBinding } from './plan-http-request'
import type { ProxyContext } from './proxy-context'
import type { UpstreamDelivery } from './upstream-pool'

export type DeliveryOutcome =
  | { readonly ok: true; readonly delivery: UpstreamDelivery; readonly source: string }
  | { readonly ok: false; readonly rejection: HttpRejection; readonly source: string }

export class RequestDelivery {
  private attributed: DeliverySource | null = null
  private attributedRevision = -1

  constructor(private readonly ctx: ProxyContext, private readonly binding: HttpBinding, private readonly client: string) {}

  plan(port: CompiledPort, endpoint: CompiledEndpoint, request: { readonly method: string; readonly target: string }): DeliveryOutcome {
    const table = this.ctx.table()
    const source = this.source(table)
    const d = planDelivery({ table, localNode: this.ctx.node, port, endpoint, source, http: request, canTunnel: this.ctx.tunnel !== undefined })
    const decision = d.kind === 'direct' || d.kind === 'refuse' ? d.decision : undefined
    if (decision !== undefined) this.ctx.authz?.recordDecision(decision)
    if (d.kind === 'refuse') return { ok: false, rejection: reject(d.status, d.code, d.message), source: source.identity }
    return { ok: true, delivery: d, source: source.identity }
  }

  private source(table: ReturnType<ProxyContext['table']>): DeliverySource {
    if (this.binding.kind === 'inbound') return this.binding.source
    if (this.attributed === null || this.attributedRevision !== table.revision) {
      this.attributed = attributeSource(table, this.ctx.node, this.client)
      this.attributedRevision = table.revision
    }
    return this.attributed
  }
}
