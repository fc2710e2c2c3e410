/**
 * Decides the answer to one DNS query against the routing table: authoritative answers for
 * names under the mesh domain, "forward" for everything else. Pure: no sockets, no clock.
 */
import net from 'node:net'
import type { Answer, Packet, Question, SoaAnswer } from 'dns-packet'
import type { RoutingTable } from '../routing/routing-table'
import { RCODE, ednsOf, opcodeOf, responseTo } from './build-dns-response'

/** TTL of mesh answers and of negative answers: VIPs are stable, but membership changes. */
export const MESH_TTL_SECONDS = 5

export type AnswerOutcome = 'answer' | 'nodata' | 'nxdomain' | 'formerr' | 'notimp' | 'refused' | 'badvers'

export type DnsDecision =
  | { readonly kind: 'answer'; readonly response: Packet; readonly outcome: AnswerOutcome }
  | { readonly kind: 'forward' }

/** Lowercase, no trailing dot: the form `byDnsName` keys use. */
export function normalizeDnsName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '')
}

/** Labels of `name` below `domain`: [] for the apex itself, null when not under it. */
export function labelsUnder(name: string, domain: string): string[] | null {
  if (name === domain) return []
  if (!domain) return name ? name.split('.') : []
  if (!name.endsWith(`.${domain}`)) return null
  return name.slice(0, -(domain.length + 1)).split('.')
}

export function answerDnsQuery(table: RoutingTable, query: Packet): DnsDecision {
  if (opcodeOf(query.flags) !== 0) return reply(query, 'notimp', { rcode: RCODE.NOTIMP, authoritative: false })
  const questions = query.questions ?? []
  if (questions.length !== 1) return reply(query, 'formerr', { rcode: RCODE.FORMERR, authoritative: false })
  const question = questions[0]!
  const domain = normalizeDnsName(table.dnsDomain)
  const labels = labelsUnder(normalizeDnsName(question.name), domain)
  if (labels === null) return { kind: 'forward' }

  // EDNS versions other than 0 do not exist yet; RFC 6891 says answer BADVERS.
  const edns = ednsOf(query)
  if (edns && edns.ednsVersion > 0) {
    return reply(query, 'badvers', { rcode: RCODE.NOERROR, authoritative: false, extendedRcode: 1 })
  }
  const klass = question.class ?? 'IN'
  if (klass !== 'IN' && klass !== 'ANY') return reply(query, 'refused', { rcode: RCODE.REFUSED, authoritative: false })
  // Zone transfers of a table that changes every few seconds would mislead more than help.
  if (question.type === 'AXFR' || question.type === 'IXFR') {
    return reply(query, 'notimp', { rcode: RCODE.NOTIMP, authoritative: false })
  }
  return answerMeshName(table, domain, labels, query, question)
}

function answerMeshName(
  table: RoutingTable, domain: string, labels: string[], query: Packet, question: Question,
): DnsDecision {
  const soa = soaRecord(domain, table.revision)
  const nodata = (): DnsDecision => reply(query, 'nodata', { rcode: RCODE.NOERROR, authoritative: true, authorities: [soa] })
  const nxdomain = (): DnsDecision => reply(query, 'nxdomain', { rcode: RCODE.NXDOMAIN, authoritative: true, authorities: [soa] })

  if (labels.length === 0) return answerApex(query, question, domain, soa)

  const service = table.byDnsName.get(labels.join('.') + suffix(domain))
  if (service) {
    const address = addressRecord(question.name, service.vip)
    if (address && (qtype(question) === address.type || qtype(question) === 'ANY')) {
      return reply(query, 'answer', { rcode: RCODE.NOERROR, authoritative: true, answers: [address] })
    }
    return nodata()
  }

  if (labels[0]?.startsWith('_')) return answerServiceLabels(table, domain, labels, query, question, nodata, nxdomain)

  // A namespace name (`default.mesh`) has services below it: it exists, with no records of its
  // own. NXDOMAIN there would let RFC 8020 resolvers deny every service in the namespace.
  if (labels.length === 1 && hasNamespace(table, labels[0]!)) return nodata()
  return nxdomain()
}

/** `_PORT._tcp.SERVICE` (SRV) and the empty non-terminal `_tcp.SERVICE` above it. */
function answerServiceLabels(
  table: RoutingTable, domain: string, labels: string[], query: Packet, question: Question,
  nodata: () => DnsDecision, nxdomain: () => DnsDecision,
): DnsDecision {
  if (labels[0] === '_tcp') {
    const service = table.byDnsName.get(labels.slice(1).join('.') + suffix(domain))
    return service && service.ports.length > 0 ? nodata() : nxdomain()
  }
  if (labels[1] !== '_tcp' || labels.length < 3) return nxdomain()
  const service = table.byDnsName.get(labels.slice(2).join('.') + suffix(domain))
  const portName = labels[0]!.slice(1)
  const port = service?.ports.find((p) => p.name.toLowerCase() === portName)
  if (!service || !port) return nxdomain()
  if (qtype(question) !== 'SRV' && qtype(question) !== 'ANY') return nodata()

  const target = `${service.name}.${service.namespace}${suffix(domain)}`
  const srv: Answer = {
    type: 'SRV', name: question.name, class: 'IN', ttl: MESH_TTL_SECONDS,
    data: { priority: 0, weight: 0, port: port.port, target },
  }
  const glue = addressRecord(target, service.vip)
  return reply(query, 'answer', {
    rcode: RCODE.NOERROR, authoritative: true, answers: [srv], additionals: glue ? [glue] : [],
  })
}

/** The domain apex: SOA and NS exist; anything else is NODATA. */
function answerApex(query: Packet, question: Question, domain: string, soa: SoaAnswer): DnsDecision {
  const ns: Answer = { type: 'NS', name: question.name, class: 'IN', ttl: MESH_TTL_SECONDS, data: soa.data.mname }
  const answers: Answer[] = []
  if (qtype(question) === 'SOA' || qtype(question) === 'ANY') answers.push({ ...soa, name: question.name })
  if (qtype(question) === 'NS' || qtype(question) === 'ANY') answers.push(ns)
  if (answers.length > 0) return reply(query, 'answer', { rcode: RCODE.NOERROR, authoritative: true, answers })
  return reply(query, 'nodata', { rcode: RCODE.NOERROR, authoritative: true, authorities: [soa] })
}

/** SOA of the mesh zone; its minimum (and TTL) bound how long resolvers cache a negative answer. */
export function soaRecord(domain: string, revision: number): SoaAnswer {
  const zone = domain || '.'
  return {
    type: 'SOA', name: zone, class: 'IN', ttl: MESH_TTL_SECONDS,
    data: {
      mname: `ns.dns${suffix(domain)}`, rname: `hostmaster${suffix(domain)}`,
      serial: Math.max(0, Math.trunc(revision)) % 2 ** 32,
      refresh: 7200, retry: 1800, expire: 86400, minimum: MESH_TTL_SECONDS,
    },
  }
}

function addressRecord(name: string, vip: string): Answer | undefined {
  const family = net.isIP(vip)
  if (family === 4) return { type: 'A', name, class: 'IN', ttl: MESH_TTL_SECONDS, data: vip }
  if (family === 6) return { type: 'AAAA', name, class: 'IN', ttl: MESH_TTL_SECONDS, data: vip }
  return undefined
}

function hasNamespace(table: RoutingTable, namespace: string): boolean {
  for (const service of table.services.values()) {
    if (service.namespace === namespace) return true
  }
  return false
}

/** The decoder also yields types the typings omit (`ANY`, `UNKNOWN_n`). */
function qtype(q: Question): string {
  return q.type
}

function suffix(domain: string): string {
  return domain ? `.${domain}` : ''
}

function reply(query: Packet, outcome: AnswerOutcome, parts: Parameters<typeof responseTo>[1]): DnsDecision {
  return { kind: 'answer', outcome, response: responseTo(query, parts) }
}
