/**
 * The field checks that record parsing (validate-record.ts) and write checks (validate-input.ts)
 * are built from. Each takes the value and its path, returns the typed value, or throws
 * `Invalid` with a message naming the path (`ports[1].port: must be 1..65535, got 70000`).
 */
import net from 'node:net'
import { isValidDnsName, isValidEndpointId, isValidLabelKey, isValidName, isValidNodeName } from './names'

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string }

/** Thrown by the checks only; `guard` turns it into a ParseResult. */
class Invalid extends Error {}

export function fail(path: string, msg: string): never {
  throw new Invalid(`${path}: ${msg}`)
}

export function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Runs checks, turning a field failure into `{ ok: false }`; any other error propagates. */
export function guard<T>(run: () => T): ParseResult<T> {
  try {
    return { ok: true, value: run() }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message }
    throw err
  }
}

export type Obj = { readonly [k: string]: unknown }

export function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `must be an object, got ${show(v)}`)
  return v as Obj
}

export function str(v: unknown, path: string, max = 253): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, `must be a non-empty string, got ${show(v)}`)
  if (v.length > max) fail(path, `must be at most ${max} characters`)
  return v
}

export function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `must be ${min}..${max}, got ${show(v)}`)
  return v
}

export function num(v: unknown, path: string, minExclusive: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= minExclusive || v > max) {
    fail(path, `must be a number above ${minExclusive} and at most ${max}, got ${show(v)}`)
  }
  return v
}

export function arr(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${show(v)}`)
  if (opts.nonEmpty && v.length === 0) fail(path, 'must not be empty')
  return v
}

/** Optional lists must be absent or non-empty: an empty list would be ambiguous ("any" or "none"). */
export function optList<T>(v: unknown, path: string, each: (x: unknown, p: string) => T): T[] | undefined {
  if (v === undefined) return undefined
  if (Array.isArray(v) && v.length === 0) fail(path, 'must not be empty (leave the field out to match any)')
  return arr(v, path).map((x, i) => each(x, `${path}[${i}]`))
}

export function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(path, `must be one of ${allowed.join(', ')}, got ${show(v)}`)
  return v as T
}

export function dnsLabel(v: unknown, path: string): string {
  const s = str(v, path, 63)
  if (!isValidName(s)) fail(path, `must be a DNS label (lowercase letters, digits, '-'), got ${show(s)}`)
  return s
}

export function dnsSubdomain(v: unknown, path: string): string {
  const s = str(v, path, 253)
  if (!isValidDnsName(s)) fail(path, `must be a DNS name (lowercase labels joined by '.'), got ${show(s)}`)
  return s
}

export function nodeName(v: unknown, path: string): string {
  const s = str(v, path, 253)
  if (!isValidNodeName(s)) fail(path, `must be a host name (letters, digits, '.', '-', '_'), got ${show(s)}`)
  return s
}

export function svcKey(v: unknown, path: string): string {
  const s = str(v, path, 127)
  const slash = s.indexOf('/')
  if (slash < 0 || !isValidName(s.slice(0, slash)) || !isValidName(s.slice(slash + 1))) {
    fail(path, `must be a service key NAMESPACE/NAME, got ${show(s)}`)
  }
  return s
}

export function ip(v: unknown, path: string): string {
  const s = str(v, path, 45)
  if (net.isIP(s) === 0) fail(path, `must be an IP address, got ${show(s)}`)
  return s
}

export function timestamp(v: unknown, path: string): string {
  const s = str(v, path, 64)
  if (Number.isNaN(Date.parse(s))) fail(path, `must be an ISO 8601 time, got ${show(s)}`)
  return s
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${show(v)}`)
  return v
}

export function endpointId(v: unknown, path: string): string {
  const s = str(v, path, 128)
  if (!isValidEndpointId(s)) fail(path, `must be letters, digits, '.', '-', '_' (max 128), got ${show(s)}`)
  return s
}

export function port(v: unknown, path: string): number {
  return int(v, path, 1, 65535)
}

export function strMap(v: unknown, path: string, key: (k: string, p: string) => void, maxValue: number): Record<string, string> {
  const o = obj(v, path)
  const out: Record<string, string> = {}
  for (const [k, val] of Object.entries(o)) {
    key(k, `${path}.${k}`)
    if (typeof val !== 'string' || val.length > maxValue) fail(`${path}.${k}`, `must be a string of at most ${maxValue} characters, got ${show(val)}`)
    out[k] = val
  }
  return out
}

export function labelKey(k: string, path: string): void {
  if (k.length > 317 || !isValidLabelKey(k)) fail(path, 'label key must be [PREFIX/]NAME with NAME of letters, digits, ".", "-", "_" (max 63)')
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
export function headerName(k: string, path: string): void {
  if (!HEADER_NAME.test(k)) fail(path, 'header name must be a lowercase HTTP token')
}

const METHOD = /^[A-Z][A-Z0-9_-]{0,31}$/
export function method(v: unknown, path: string): string {
  const s = str(v, path, 32)
  if (!METHOD.test(s)) fail(path, `must be an uppercase HTTP method such as GET, got ${show(s)}`)
  return s
}

export function httpPath(v: unknown, path: string): string {
  const s = str(v, path, 2048)
  if (!s.startsWith('/') || /\s/.test(s)) fail(path, `must start with '/' and hold no spaces, got ${show(s)}`)
  return s
}

/**
 * An authorization policy path in Istio's forms: exact `/a`, prefix `/a/*`, suffix `*.png`, or
 * `*`. A `*` anywhere else is not a wildcard to Istio either, so it is refused.
 */
export function policyPath(v: unknown, path: string): string {
  const s = str(v, path, 2048)
  const inner = s.length > 1 ? s.slice(s.startsWith('*') ? 1 : 0, s.endsWith('*') ? -1 : undefined) : ''
  const shapeOk = s === '*' || ((s.startsWith('/') || s.startsWith('*')) && !(s.startsWith('*') && s.endsWith('*')) && !inner.includes('*'))
  if (!shapeOk || /[\s\u0000-\u001f\u007f]/.test(s)) {
    fail(path, `must start with '/' (exact /a, prefix /a/*) or be a suffix *.png or *, with no spaces and no other '*', got ${show(s)}`)
  }
  return s
}

/** Optional fields are left out rather than set to undefined, so records compare and print cleanly. */
export function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
