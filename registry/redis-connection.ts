/**
 * The RedisStore's connections: one for commands and scripts, one (made on first use) for
 * blocking change-feed reads, so a waiting XREAD never delays a write. Owns the role policy
 * (the CLI fails fast, the agent reconnects with capped backoff, neither queues offline) and
 * the mapping of every driver error to an NmError that never carries the URL's password.
 */
import type Redis from 'ioredis'
import type { RedisOptions } from 'ioredis'
import type { Logger } from '../agent/observe/logger'
import { NmError, type NmErrorCode } from './errors'

export type RedisRole = 'cli' | 'agent'

const CONNECT_TIMEOUT_MS = 2000
const COMMAND_TIMEOUT_MS = 5000
/** Codes a script may put at the start of an error reply. */
const SCRIPT_CODES: readonly NmErrorCode[] = ['NM_NOT_FOUND', 'NM_ALREADY_EXISTS', 'NM_VIP_EXHAUSTED', 'NM_LEASE_EXPIRED', 'NM_CONFLICT', 'NM_BAD_RECORD']

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString().replace(/\/$/, '')
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@')
  }
}

/** Capped exponential backoff for the agent; the CLI never retries a lost connection. */
export function connectionOptions(role: RedisRole): RedisOptions {
  return {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // Never queue while offline and never replay a write after a reconnect: calls reject now.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: role === 'cli' ? () => null : (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
    connectionName: `nodemesh-${role}`,
  }
}

export class RedisConnections {
  readonly description: string
  private readerConn: Redis | undefined
  private lastError = ''
  private closed = false

  private constructor(readonly main: Redis, private readonly url: string, private readonly role: RedisRole, private readonly log?: Logger) {
    this.description = redactUrl(url)
    this.watch(main, 'main')
  }

  /** The CLI role waits for the connection and fails fast; the agent role connects in the background. */
  static async open(url: string, role: RedisRole, log?: Logger): Promise<RedisConnections> {
    // Lazy: CLI commands that never touch Redis should not pay for loading the client.
    const IORedis = (require('ioredis') as typeof import('ioredis')).default
    let main: Redis
    try {
      main = new IORedis(url, connectionOptions(role))
    } catch (err) {
      throw new NmError('NM_BAD_ARGUMENT', `bad Redis URL ${redactUrl(url)}: ${(err as Error).message}`)
    }
    const c = new RedisConnections(main, url, role, log)
    if (role === 'cli') {
      try { await c.ready(main) } catch (err) { main.disconnect(); throw err }
    } else {
      main.connect().catch(() => undefined) // reported through the 'error' event
    }
    return c
  }

  /** Runs `fn` once the main connection is up, turning whatever it throws into an NmError. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await this.ready(this.main)
      return await fn()
    } catch (err) {
      throw this.toNmError(err)
    }
  }

  /** The connection for blocking reads, connected and ready. */
  async reader(): Promise<Redis> {
    this.readerConn ??= this.watch(this.main.duplicate({
      // No command timeout on a blocking read; the blocking guard allows BLOCK ms plus a grace.
      commandTimeout: undefined, blockingTimeout: 1, blockingTimeoutGrace: COMMAND_TIMEOUT_MS,
      connectionName: `nodemesh-${this.role}-watch`,
    }), 'watch')
    await this.ready(this.readerConn)
    return this.readerConn
  }

  async close(): Promise<void> {
    this.closed = true
    // disconnect() rejects a pending XREAD at once, which is what a shutdown wants.
    this.readerConn?.disconnect()
    if (this.main.status === 'ready') await this.main.quit().catch(() => this.main.disconnect())
    else this.main.disconnect()
  }

  toNmError(err: unknown): NmError {
    if (err instanceof NmError) return err
    const e = err as { name?: string; message?: string }
    const msg = this.scrub(String(e?.message ?? err))
    if (e?.name === 'ReplyError') {
      const m = /^(NM_[A-Z_]+) ([\s\S]*)$/.exec(msg)
      if (m && SCRIPT_CODES.includes(m[1] as NmErrorCode)) return new NmError(m[1] as NmErrorCode, m[2])
      if (/^(NOAUTH|WRONGPASS)/.test(msg)) return this.unreachable(`authentication failed: ${msg}; check the user and password in the URL`)
      if (/^(READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY)/.test(msg)) return this.unreachable(msg)
      return new NmError('NM_INTERNAL', `Redis at ${this.description} replied: ${msg}`)
    }
    return this.unreachable(msg)
  }

  /** Waits (bounded) for a connection; a dead CLI connection fails at once. */
  private async ready(conn: Redis): Promise<void> {
    if (conn.status === 'ready') return
    if (this.closed) throw this.unreachable('the store is closed')
    if (conn.status === 'end' && this.role === 'cli') throw this.unreachable(this.lastError || 'connection closed')
    if (conn.status === 'wait' || conn.status === 'end') conn.connect().catch(() => undefined)
    await new Promise<void>((resolve, reject) => {
      const done = (err?: NmError): void => {
        clearTimeout(timer)
        conn.off('ready', onReady)
        conn.off('end', onEnd)
        if (err) reject(err)
        else resolve()
      }
      const onReady = (): void => done()
      const onEnd = (): void => done(this.unreachable(this.lastError || 'connection closed'))
      const timer = setTimeout(() => done(this.unreachable(this.lastError || `no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS + 500)
      conn.once('ready', onReady)
      conn.once('end', onEnd)
    })
  }

  private watch(conn: Redis, which: string): Redis {
    conn.on('error', (err: Error) => {
      const msg = this.scrub(err.message)
      // ioredis reports every failed reconnect; log only when the reason changes.
      if (msg !== this.lastError) this.log?.warn({ registry: this.description, connection: which, err: msg }, 'registry connection error')
      this.lastError = msg
    })
    conn.on('ready', () => {
      if (this.lastError) this.log?.info({ registry: this.description, connection: which }, 'registry connection restored')
      this.lastError = ''
    })
    return conn
  }

  private unreachable(detail: string): NmError {
    return new NmError('NM_REGISTRY_UNREACHABLE',
      `cannot reach Redis at ${this.description} (${this.scrub(detail)}): check --redis / NODEMESH_REDIS_URL and that Redis is running`)
  }

  /** Removes the URL's password from any text, in case a driver message ever echoes it. */
  private scrub(text: string): string {
    let password = ''
    try { password = decodeURIComponent(new URL(this.url).password) } catch { /* unparsable URL: nothing to scrub */ }
    return password ? text.split(password).join('***') : text
  }
}
