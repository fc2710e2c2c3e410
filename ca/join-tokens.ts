/**
 * One-time join tokens, decided in plain functions. Only a SHA-256 of a token is kept; the
 * first successful use marks it used, and a used record stays until its expiry so that a
 * replay is told apart from a typo in the CA's log.
 */
import crypto from 'node:crypto'

export interface StoredToken {
  /** SHA-256 of the token, hex. */
  readonly hash: string
  readonly node: string
  readonly createdAt: string
  readonly expiresAt: string
  readonly usedAt?: string
}

export function newJoinToken(): string {
  return crypto.randomBytes(32).toString('base64url')
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Expired records are dropped whenever the list is written. */
export function pruneTokens(list: readonly StoredToken[], now: Date): StoredToken[] {
  return list.filter((t) => Date.parse(t.expiresAt) > now.getTime())
}

export function addToken(list: readonly StoredToken[], token: string, node: string, ttlMs: number, now: Date): StoredToken[] {
  const record: StoredToken = {
    hash: hashToken(token), node, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
  }
  return [...pruneTokens(list, now), record]
}

export type ConsumeResult =
  | { readonly ok: true; readonly node: string; readonly tokens: StoredToken[] }
  /** `reason` is for the CA's log; the caller is told only that the token is invalid. */
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' | 'used' | 'other-node'; readonly tokens: StoredToken[] }

/** `node` is the name the joining agent gives; it must be the one the token was made for. */
export function consumeToken(list: readonly StoredToken[], token: string, node: string, now: Date): ConsumeResult {
  const hash = hashToken(token)
  const found = list.find((t) => t.hash === hash)
  const kept = pruneTokens(list, now)
  if (!found) return { ok: false, reason: 'unknown', tokens: kept }
  if (Date.parse(found.expiresAt) <= now.getTime()) return { ok: false, reason: 'expired', tokens: kept }
  if (found.usedAt !== undefined) return { ok: false, reason: 'used', tokens: kept }
  if (found.node !== node) return { ok: false, reason: 'other-node', tokens: kept }
  return { ok: true, node: found.node, tokens: kept.map((t) => (t.hash === hash ? { ...t, usedAt: now.toISOString() } : t)) }
}

export function parseTokenList(json: string): StoredToken[] {
  const data = JSON.parse(json) as { tokens?: unknown }
  if (!Array.isArray(data.tokens)) throw new Error('no "tokens" list')
  return data.tokens.filter((t): t is StoredToken => {
    const r = t as Partial<StoredToken> | null
    return !!r && typeof r.hash === 'string' && typeof r.node === 'string' && typeof r.expiresAt === 'string' && typeof r.createdAt === 'string'
  })
}

export function renderTokenList(list: readonly StoredToken[]): string {
  return `${JSON.stringify({ tokens: list }, null, 2)}\n`
}
