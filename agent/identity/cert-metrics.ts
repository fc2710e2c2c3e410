/**
 * The certificate expiry gauge and the /debug/certs view. The gauge is computed at scrape
 * time from the held certificates, so it never goes stale between renewals.
 */
import { Gauge, type Registry } from 'prom-client'
import type { CertSource } from './cert-source'

export const CERT_EXPIRY_METRIC = 'nodemesh_certificate_expiry_seconds'

export function registerCertExpiryMetric(registry: Registry, source: CertSource, now: () => number = Date.now): Gauge<'identity'> {
  // A restarted identity manager in the same process replaces its predecessor's gauge.
  if (registry.getSingleMetric(CERT_EXPIRY_METRIC)) registry.removeSingleMetric(CERT_EXPIRY_METRIC)
  return new Gauge({
    name: CERT_EXPIRY_METRIC,
    help: 'Seconds until the certificate of each identity held by this agent expires',
    labelNames: ['identity'],
    registers: [registry],
    collect() {
      this.reset()
      for (const c of source.list()) this.set({ identity: c.identity }, Math.round((c.notAfter.getTime() - now()) / 1000))
    },
  })
}

export interface CertDebugEntry {
  readonly identity: string
  readonly serial: string
  readonly notBefore: string
  readonly notAfter: string
  readonly secondsLeft: number
}

/** What `/debug/certs` shows: no keys, sorted by identity. */
export function certsDebugView(source: CertSource, now: Date = new Date()): { nodeIdentity: string; certs: CertDebugEntry[] } {
  const certs = source.list().map((c) => ({
    identity: c.identity,
    serial: c.serial,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    secondsLeft: Math.round((c.notAfter.getTime() - now.getTime()) / 1000),
  })).sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0))
  return { nodeIdentity: source.nodeIdentity(), certs }
}
