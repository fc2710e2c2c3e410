/**
 * Request-target forms of RFC 9112 section 3.2, checked strictly: origin-form (`/x?y`),
 * absolute-form (`http://web.mesh/x`, as HTTP_PROXY clients send), authority-form (CONNECT
 * only) and asterisk-form (OPTIONS only). Fragments, userinfo and bytes outside RFC 3986
 * are refused.
 */
import { AUTHORITY, HEX, TARGET } from './http-chars'
import type { TargetForm } from './http-head'

export interface ClassifiedTarget {
  readonly form: TargetForm
  readonly authority: string | undefined
  readonly scheme: string | undefined
  readonly path: string
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//

/** The target's form and parts, or the reason it is invalid. */
export function classifyTarget(method: string, target: string): ClassifiedTarget | string {
  if (method === 'CONNECT') {
    const colon = target.lastIndexOf(':')
    if (colon <= 0 || !isAuthority(target) || !/^[0-9]{1,5}$/.test(target.slice(colon + 1))) {
      return 'CONNECT needs an authority-form target (host:port)'
    }
    return { form: 'authority', authority: target, scheme: undefined, path: '' }
  }
  if (target === '*') {
    return method === 'OPTIONS' ? { form: 'asterisk', authority: undefined, scheme: undefined, path: '*' } : 'asterisk-form target is only valid for OPTIONS'
  }
  if (target.charCodeAt(0) === 0x2f) {
    return isPathAndQuery(target, 0) ? { form: 'origin', authority: undefined, scheme: undefined, path: target } : 'invalid request-target'
  }
  const m = SCHEME.exec(target)
  if (m === null) return 'invalid request-target (want /path or http://host/path)'
  const start = m[0].length
  let end = start
  while (end < target.length) {
    const c = target.charCodeAt(end)
    if (c === 0x2f || c === 0x3f) break
    end++
  }
  const authority = target.slice(start, end)
  if (authority === '' || !isAuthority(authority)) return 'invalid authority in absolute-form request-target'
  if (!isPathAndQuery(target, end)) return 'invalid request-target'
  const rest = target.slice(end)
  const path = rest === '' ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest
  return { form: 'absolute', authority, scheme: m[1]!.toLowerCase(), path }
}

/** Host header values: an authority without userinfo; empty is allowed (RFC 9112 3.2). */
export function isValidHost(host: string): boolean {
  return host === '' || isAuthority(host)
}

function isAuthority(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0xff || AUTHORITY[c] !== 1) return false
    if (c === 0x25 && !pctAt(s, i)) return false
  }
  return true
}

function isPathAndQuery(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0xff || TARGET[c] !== 1) return false
    if (c === 0x25 && !pctAt(s, i)) return false
  }
  return true
}

function pctAt(s: string, i: number): boolean {
  const a = s.charCodeAt(i + 1)
  const b = s.charCodeAt(i + 2)
  return a < 0x100 && b < 0x100 && HEX[a] === 1 && HEX[b] === 1
}
