/**
 * Forwards a client's raw query for a non-mesh name to the upstream resolvers: UDP first,
 * TCP when the UDP answer is truncated, next upstream on timeout or error. Every attempt uses
 * its own socket and a fresh random id, so concurrent queries never see each other's answers
 * and an off-path guess must match port, id and question.
 */
import crypto from 'node:crypto'
import dgram from 'node:dgram'
import net from 'node:net'
import dnsPacket, { type Question } from 'dns-packet'
import { FLAG_QR, FLAG_TC, RCODE, rcodeOf } from './build-dns-response'
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-frames'
import { formatUpstream, type Upstream } from './parse-upstream'

export const FORWARD_TIMEOUT_MS = 2000

export interface ForwardOptions {
  readonly upstreams: readonly Upstream[]
  /** Per attempt (UDP, then TCP), per upstream. */
  readonly timeoutMs?: number
  /** Our own listening address: never forwarded to, or a query would chase its tail. */
  readonly self?: { readonly address: string; readonly port: number }
  /** The host's addresses, for a `self` bound to a wildcard address. */
  readonly localAddresses?: readonly string[]
  readonly signal?: AbortSignal
}

export type ForwardResult =
  | { readonly ok: true; readonly response: Buffer; readonly upstream: Upstream; readonly transport: 'udp' | 'tcp' }
  | { readonly ok: false; readonly reason: string }

/** Whether sending to `upstream` would reach our own listener. */
export function isOwnListener(
  upstream: Upstream, self: { readonly address: string; readonly port: number }, localAddresses: readonly string[] = [],
): boolean {
  if (upstream.port !== self.port) return false
  const host = upstream.host.toLowerCase()
  if (host === self.address.toLowerCase()) return true
  const wildcard = self.address === '0.0.0.0' || self.address === '::'
  if (!wildcard) return false
  return host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.')
    || localAddresses.some((a) => a.toLowerCase() === host)
}

export async function forwardDns(query: Buffer, opts: ForwardOptions): Promise<ForwardResult> {
  const timeoutMs = opts.timeoutMs ?? FORWARD_TIMEOUT_MS
  const upstreams = opts.self ? opts.upstreams.filter((u) => !isOwnListener(u, opts.self!, opts.localAddresses)) : opts.upstreams
  if (upstreams.length === 0) return { ok: false, reason: 'no upstream resolver (other than ourselves) is configured' }
  const questions = dnsPacket.decode(query).questions ?? []
  const failures: string[] = []
  // An answer we would rather not give (truncated, SERVFAIL, REFUSED) unless nobody does better.
  let fallback: { response: Buffer; upstream: Upstream } | undefined

  for (const upstream of upstreams) {
    if (opts.signal?.aborted) return { ok: false, reason: 'server closing' }
    const id = crypto.randomInt(0, 0x10000)
    const attempt = withId(query, id)
    const matches = (r: Buffer): boolean => responseMatches(r, id, questions)
    let response: Buffer
    try {
      response = await udpExchange(upstream, attempt, matches, timeoutMs, opts.signal)
    } catch (err) {
      failures.push(`${formatUpstream(upstream)}/udp: ${(err as Error).message}`)
      continue
    }
    const original = query.readUInt16BE(0)
    if (response.readUInt16BE(2) & FLAG_TC) {
      try {
        const full = await tcpExchange(upstream, attempt, matches, timeoutMs, opts.signal)
        return { ok: true, response: withId(full, original), upstream, transport: 'tcp' }
      } catch (err) {
        failures.push(`${formatUpstream(upstream)}/tcp: ${(err as Error).message}`)
        fallback ??= { response: withId(response, original), upstream }
        continue
      }
    }
    const rcode = rcodeOf(response.readUInt16BE(2))
    if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
      failures.push(`${formatUpstream(upstream)}: rcode ${rcode}`)
      fallback ??= { response: withId(response, original), upstream }
      continue
    }
    return { ok: true, response: withId(response, original), upstream, transport: 'udp' }
  }
  if (fallback) return { ok: true, response: fallback.response, upstream: fallback.upstream, transport: 'udp' }
  return { ok: false, reason: failures.join('; ') }
}

/** A response to our attempt: QR set, our id, and the same question (names case-insensitively). */
export function responseMatches(response: Buffer, id: number, questions: readonly Question[]): boolean {
  if (response.length < 12 || response.readUInt16BE(0) !== id || !(response.readUInt16BE(2) & FLAG_QR)) return false
  let got: Question[]
  try {
    got = dnsPacket.decode(response).questions ?? []
  } catch {
    return false
  }
  return got.length === questions.length && got.every((q, i) => {
    const want = questions[i]!
    return q.name.toLowerCase() === want.name.toLowerCase() && q.type === want.type && (q.class ?? 'IN') === (want.class ?? 'IN')
  })
}

function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.from(message)
  copy.writeUInt16BE(id, 0)
  return copy
}

type Cleanup = () => void

/** Runs `start` until it settles, the timeout passes or `signal` aborts; then `cleanup` always runs. */
function exchange(
  timeoutMs: number, signal: AbortSignal | undefined,
  start: (resolve: (b: Buffer) => void, reject: (e: Error) => void) => Cleanup,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let cleanup: Cleanup = () => {}
    let done = false
    const finish = (fn: () => void): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      cleanup()
      fn()
    }
    const onAbort = (): void => finish(() => reject(new Error('aborted')))
    const timer = setTimeout(() => finish(() => reject(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    cleanup = start((b) => finish(() => resolve(b)), (e) => finish(() => reject(e)))
    if (signal?.aborted) onAbort()
  })
}

function udpExchange(
  upstream: Upstream, query: Buffer, matches: (r: Buffer) => boolean, timeoutMs: number, signal?: AbortSignal,
): Promise<Buffer> {
  return exchange(timeoutMs, signal, (resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(upstream.host.split('%')[0]!) ? 'udp6' : 'udp4')
    // A connected socket only receives from the upstream, and reports ICMP port-unreachable
    // as ECONNREFUSED, so a dead upstream fails fast instead of waiting out the timeout.
    socket.on('error', reject)
    socket.on('message', (msg) => { if (matches(msg)) resolve(msg) })
    socket.connect(upstream.port, upstream.host, () => socket.send(query, (err) => { if (err) reject(err) }))
    return () => {
      try { socket.close() } catch { /* already closed after an error */ }
    }
  })
}

function tcpExchange(
  upstream: Upstream, query: Buffer, matches: (r: Buffer) => boolean, timeoutMs: number, signal?: AbortSignal,
): Promise<Buffer> {
  return exchange(timeoutMs, signal, (resolve, reject) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port })
    const frames = new DnsFrameReader()
    socket.on('connect', () => socket.write(frameDnsMessage(query)))
    socket.on('error', reject)
    socket.on('data', (chunk: Buffer) => {
      const answer = frames.push(chunk).find(matches)
      if (answer) resolve(answer)
    })
    socket.on('close', () => reject(new Error('connection closed before an answer')))
    return () => socket.destroy()
  })
}
