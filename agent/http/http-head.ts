/**
 * The parsed shapes of HTTP/1.1 request and response heads (RFC 9112), as produced by
 * `parse-http-head.ts` and read by the planner and the proxy.
 */
import { Field, FIELD_NAMES, type FieldId } from './field-names'

/**
 * One header field line of a received head. It keeps offsets into the received bytes and
 * makes strings only when asked: most fields are forwarded byte for byte and never named.
 */
export class HttpHeader {
  private nameText: string | undefined
  private lowerText: string | undefined
  private valueText: string | undefined

  constructor(
    /** The bytes the head was parsed from. */
    readonly src: Buffer,
    /** Offset of the line's first byte. */
    readonly start: number,
    /** Offset of the colon, which is where the name ends. */
    readonly colon: number,
    /** The value without surrounding whitespace: [valueStart, valueEnd). */
    readonly valueStart: number,
    readonly valueEnd: number,
    /** Offset where the line ends, before its CRLF (or bare LF). */
    readonly end: number,
    /** Which known field this is (field-names.ts), Field.Other for the rest. */
    readonly field: FieldId,
  ) {}

  /** As received, case preserved. */
  get name(): string {
    return (this.nameText ??= this.src.toString('latin1', this.start, this.colon))
  }

  /** Lowercase name, for lookups. */
  get lower(): string {
    return (this.lowerText ??= this.field !== Field.Other ? FIELD_NAMES[this.field]! : this.name.toLowerCase())
  }

  get nameLength(): number {
    return this.colon - this.start
  }

  /** Value without surrounding whitespace. */
  get value(): string {
    return (this.valueText ??= this.src.toString('latin1', this.valueStart, this.valueEnd))
  }

  /** The whole field line as received minus its line ending. */
  get raw(): string {
    return this.src.toString('latin1', this.start, this.end)
  }
}

/** How the message body is delimited (RFC 9112 section 6). */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  /** Response without length: the body runs until the upstream closes. */
  | { readonly kind: 'until-close' }

export const NO_BODY: BodyFraming = Object.freeze({ kind: 'none' })
export const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' })
export const UNTIL_CLOSE: BodyFraming = Object.freeze({ kind: 'until-close' })

export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk'

export interface RequestHead {
  readonly method: string
  /** The request-target as received. */
  readonly target: string
  readonly targetForm: TargetForm
  /** Authority of an absolute-form or authority-form target (`web.mesh:8080`), else undefined. */
  readonly authority: string | undefined
  /** Scheme of an absolute-form target, lowercase. */
  readonly scheme: string | undefined
  /** The target in origin-form (`/x?y`), `*` for asterisk-form, '' for authority-form. */
  readonly path: string
  readonly versionMinor: 0 | 1
  readonly headers: readonly HttpHeader[]
  readonly framing: BodyFraming
  /** Whether the client lets the connection persist after this exchange. */
  readonly keepAlive: boolean
  /** Lowercase tokens of the Connection header field(s). */
  readonly connection: readonly string[]
  /** The Upgrade value when the request asks to switch protocols (Connection: upgrade). */
  readonly upgrade: string | undefined
  /** Host header value, when present. */
  readonly host: string | undefined
  readonly expectContinue: boolean
  /** Bytes of the head, including leading empty lines and the final empty line. */
  readonly headLength: number
}

export interface ResponseHead {
  readonly status: number
  readonly versionMinor: 0 | 1
  /** The bytes the head was parsed from; the status line is [0, statusLineEnd), forwarded as received. */
  readonly src: Buffer
  readonly statusLineEnd: number
  readonly headers: readonly HttpHeader[]
  readonly framing: BodyFraming
  /** Whether the upstream keeps the connection open after this response. */
  readonly keepAlive: boolean
  readonly connection: readonly string[]
  readonly headLength: number
}

export interface HeadLimits {
  /** Largest head accepted, in bytes (request/status line, fields and line endings). */
  readonly maxHeadBytes: number
  /** Most header field lines accepted. */
  readonly maxHeaders: number
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = { maxHeadBytes: 64 * 1024, maxHeaders: 100 }

export interface HeadError {
  readonly kind: 'error'
  /** Status to answer with: 400, 431, 505 for requests; 502 for upstream responses. */
  readonly status: 400 | 431 | 502 | 505
  readonly reason: string
}

export type HeadParse<H> = { readonly kind: 'complete'; readonly head: H } | { readonly kind: 'incomplete' } | HeadError

export const INCOMPLETE = Object.freeze({ kind: 'incomplete' } as const)
