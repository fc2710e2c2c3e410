/**
 * The agent's certificates: its node credential and one X.509-SVID per local workload
 * identity. Each is renewed at a fraction of its life (half by default), retried with capped
 * backoff and jitter on failure, and served until its replacement is in. A renewal swaps in a
 * new TLS context: connections opened before keep theirs, new ones get the new certificate.
 */
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import type { Registry } from 'prom-client'
import { makeCsrPem } from '../../ca/make-csr'
import { generateKeyPem } from '../../ca/generate-key'
import { NmError } from '../../registry/errors'
import type { Logger } from '../observe/logger'
import type { CertSource, IssuedCert } from './cert-source'
import { registerCertExpiryMetric } from './cert-metrics'
import {
  NODE_CERT_FILE, identityDir, readNodeBundle, readWorkloadCerts, removeWorkloadCert, writeNodeBundle, writeWorkloadCert,
} from './identity-files'
import { readIssuedCert } from './read-issued-cert'
import { DEFAULT_RENEW_FRACTION, planWanted, renewAt, retryDelayMs } from './renewal-plan'
import { nodeId, parseSpiffeId } from './spiffe'
import type { WorkloadIssuer } from './workload-issuer'

export interface WorkloadCertsOptions {
  readonly node: string
  readonly trustDomain: string
  readonly stateDir: string
  readonly issuer: WorkloadIssuer
  readonly log: Logger
  /** The agent's prom-client registry, for nodemesh_certificate_expiry_seconds. */
  readonly metrics?: Registry
  readonly renewFraction?: number
}

export interface WorkloadCerts extends CertSource {
  /** The workload identities of the local endpoints: new ones are requested, others dropped. */
  want(identities: readonly string[]): void
  close(): void
}

interface Slot {
  readonly identity: string
  cert?: IssuedCert
  bundle?: string
  ctx?: tls.SecureContext
  ctxSerial?: string
  timer?: NodeJS.Timeout
  attempt: number
  busy: boolean
}

const MAX_TIMER_MS = 2 ** 31 - 1

export async function startWorkloadCerts(opts: WorkloadCertsOptions): Promise<WorkloadCerts> {
  const { issuer, log, trustDomain } = opts
  const dir = identityDir(opts.stateDir)
  const fraction = opts.renewFraction ?? DEFAULT_RENEW_FRACTION
  const nodeIdentity = nodeId(trustDomain, opts.node)
  const nodeSlot: Slot = { identity: nodeIdentity, attempt: 0, busy: false }
  const workloads = new Map<string, Slot>()
  let bundle = ''
  let closed = false

  const install = (slot: Slot, cert: IssuedCert, trustBundlePem: string, receivedAt: Date): void => {
    slot.cert = cert
    slot.bundle = trustBundlePem
    bundle = trustBundlePem
    slot.attempt = 0
    schedule(slot, renewAt(receivedAt, cert.notAfter, fraction).getTime() - Date.now())
  }

  const schedule = (slot: Slot, delayMs: number): void => {
    if (closed) return
    clearTimeout(slot.timer)
    slot.timer = setTimeout(() => { void renew(slot) }, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)))
    slot.timer.unref()
  }

  /**
   * A new key and certificate for `slot`, checked, saved and put in service. Undefined when the
   * agent closed or the identity was dropped meanwhile; throws when any step fails.
   */
  const issue = async (slot: Slot): Promise<IssuedCert | undefined> => {
    const keyPem = await generateKeyPem()
    const csrPem = makeCsrPem(keyPem)
    const reply = slot === nodeSlot ? await issuer.signNode(csrPem) : await issuer.signWorkload(csrPem, slot.identity)
    const cert = readIssuedCert(keyPem, reply.certChainPem, slot.identity)
    if (closed || (slot !== nodeSlot && workloads.get(slot.identity) !== slot)) return undefined
    const receivedAt = new Date()
    if (slot === nodeSlot) {
      writeNodeBundle(dir, { keyPem, certChainPem: reply.certChainPem, trustBundlePem: reply.trustBundlePem })
      issuer.nodeCredentialChanged?.(keyPem, reply.certChainPem)
    } else {
      writeWorkloadCert(dir, { identity: slot.identity, keyPem, certChainPem: reply.certChainPem, trustBundlePem: reply.trustBundlePem, receivedAt: receivedAt.toISOString() })
    }
    install(slot, cert, reply.trustBundlePem, receivedAt)
    return cert
  }

  const renew = async (slot: Slot): Promise<void> => {
    if (closed || slot.busy) return
    slot.busy = true
    try {
      const cert = await issue(slot)
      if (cert) log.info({ identity: slot.identity, serial: cert.serial, notAfter: cert.notAfter.toISOString() }, 'certificate issued')
    } catch (err) {
      if (closed) return
      const untilMs = slot.cert ? slot.cert.notAfter.getTime() - Date.now() : undefined
      const delay = retryDelayMs(slot.attempt++, Math.random(), untilMs !== undefined ? { untilMs } : {})
      log.warn({ identity: slot.identity, error: (err as Error).message, retryInMs: delay, attempt: slot.attempt }, 'certificate request failed; retrying')
      schedule(slot, delay)
    } finally {
      slot.busy = false
    }
  }

  // The node credential: from the identity directory when still valid, else from the issuer.
  const saved = readNodeBundle(dir)
  if (saved) {
    try {
      const cert = readIssuedCert(saved.keyPem, saved.certChainPem, nodeIdentity)
      if (cert.notAfter.getTime() > Date.now()) {
        install(nodeSlot, cert, saved.trustBundlePem, fs.statSync(path.join(dir, NODE_CERT_FILE)).mtime)
      }
    } catch (err) {
      log.warn({ error: (err as Error).message }, 'saved node credential unusable; requesting a new one')
    }
  }
  if (!nodeSlot.cert) {
    try {
      await issue(nodeSlot)
    } catch (err) {
      throw new NmError(err instanceof NmError ? err.code : 'NM_INTERNAL',
        `no certificate for ${nodeIdentity}: ${err instanceof NmError ? err.message.replace(/^NM_[A-Z_]+: /, '') : String(err)}`, { cause: err })
    }
  }

  // Workload certificates saved by an earlier run: served at once, while still valid.
  for (const s of readWorkloadCerts(dir)) {
    const id = parseSpiffeId(s.identity)
    let cert: IssuedCert | undefined
    try { cert = id?.kind === 'workload' && id.trustDomain === trustDomain ? readIssuedCert(s.keyPem, s.certChainPem, s.identity) : undefined } catch { cert = undefined }
    if (!cert || cert.notAfter.getTime() <= Date.now()) { removeWorkloadCert(dir, s.identity); continue }
    const slot: Slot = { identity: s.identity, attempt: 0, busy: false }
    workloads.set(s.identity, slot)
    install(slot, cert, s.trustBundlePem, new Date(s.receivedAt))
    log.info({ identity: s.identity, serial: cert.serial, notAfter: cert.notAfter.toISOString() }, 'certificate loaded from the state directory')
  }

  const slotOf = (identity: string): Slot | undefined => (identity === nodeIdentity ? nodeSlot : workloads.get(identity))
  const current = (slot: Slot | undefined): IssuedCert | undefined =>
    slot?.cert && slot.cert.notAfter.getTime() > Date.now() ? slot.cert : undefined

  const source: WorkloadCerts = {
    trustBundlePem: () => bundle,
    nodeIdentity: () => nodeIdentity,
    get: (identity) => current(slotOf(identity)),
    secureContext(identity) {
      const slot = slotOf(identity)
      const cert = current(slot)
      if (!slot || !cert) return undefined
      if (!slot.ctx || slot.ctxSerial !== cert.serial) {
        slot.ctx = tls.createSecureContext({ key: cert.keyPem, cert: cert.certChainPem, ca: slot.bundle ?? bundle, minVersion: 'TLSv1.3' })
        slot.ctxSerial = cert.serial
      }
      return slot.ctx
    },
    list: () => [nodeSlot, ...workloads.values()].flatMap((s) => (s.cert ? [s.cert] : [])),
    want(identities) {
      if (closed) return
      const ours = identities.filter((i) => {
        const id = parseSpiffeId(i)
        const ok = id?.kind === 'workload' && id.trustDomain === trustDomain
        if (!ok) log.warn({ identity: i }, 'not a workload identity of this trust domain; no certificate requested')
        return ok
      })
      const { add, drop } = planWanted(workloads.keys(), ours)
      for (const identity of drop) {
        clearTimeout(workloads.get(identity)?.timer)
        workloads.delete(identity)
        removeWorkloadCert(dir, identity)
        log.info({ identity }, 'certificate dropped: no local endpoint needs it')
      }
      for (const identity of add) {
        const slot: Slot = { identity, attempt: 0, busy: false }
        workloads.set(identity, slot)
        void renew(slot)
      }
    },
    close() {
      closed = true
      for (const s of [nodeSlot, ...workloads.values()]) clearTimeout(s.timer)
      issuer.close?.()
    },
  }
  if (opts.metrics) registerCertExpiryMetric(opts.metrics, source)
  return source
}
