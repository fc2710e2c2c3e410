/**
 * Finds where a message body ends without buffering or copying it: the proxy forwards body
 * bytes as they arrive (chunked bytes pass through unchanged) while this state machine counts
 * Content-Length bytes or walks chunk-size lines, chunk data and trailers. One instance per
 * connection direction, reset per message; no allocation per chunk.
 */
import type { BodyFraming } from './http-head'

const enum S {
  Done, Length, UntilClose,
  SizeFirst, Size, Ext, SizeLf, Data, DataCr, DataLf, TrailerStart, Trailer, TrailerLf, EndLf,
}

/** Trailer section larger than this is refused, like an oversized head. */
const MAX_TRAILER_BYTES = 64 * 1024
/** 13 hex digits still fit an exact integer. */
const MAX_SIZE_DIGITS = 13

export class BodyFramer {
  private state: S = S.Done
  private remaining = 0
  private digits = 0
  private trailerBytes = 0
  /** Why the body is malformed; set once, after which the framer consumes nothing. */
  error: string | undefined = undefined

  reset(framing: BodyFraming): void {
    this.error = undefined
    this.remaining = 0
    this.digits = 0
    this.trailerBytes = 0
    switch (framing.kind) {
      case 'none': this.state = S.Done; break
      case 'length': this.state = S.Length; this.remaining = framing.length; break
      case 'chunked': this.state = S.SizeFirst; break
      case 'until-close': this.state = S.UntilClose; break
    }
  }

  /** The body is complete (for until-close bodies, only after `closed()`). */
  get done(): boolean {
    return this.state === S.Done
  }

  /** The peer closed; an until-close body ends here. */
  closed(): void {
    if (this.state === S.UntilClose) this.state = S.Done
  }

  /**
   * Consumes body bytes of `buf[start, end)` and returns how many belong to this body; the
   * rest (if `done`) is the next message. On a framing error returns what was valid and sets
   * `error`.
   */
  consume(buf: Buffer, start: number, end: number): number {
    let i = start
    while (i < end) {
      switch (this.state) {
        case S.Done: return i - start
        case S.UntilClose: return end - start
        case S.Length: {
          const n = Math.min(this.remaining, end - i)
          this.remaining -= n
          i += n
          if (this.remaining === 0) this.state = S.Done
          continue
        }
        case S.Data: {
          const n = Math.min(this.remaining, end - i)
          this.remaining -= n
          i += n
          if (this.remaining === 0) this.state = S.DataCr
          continue
        }
      }
      // The remaining states read one byte at a time: chunk-size lines and trailers are short.
      const c = buf[i++]!
      switch (this.state) {
        case S.SizeFirst: {
          const d = hexValue(c)
          if (d < 0) return this.fail(i, start, 'invalid chunk size')
          this.remaining = d
          this.digits = 1
          this.state = S.Size
          break
        }
        case S.Size: {
          const d = hexValue(c)
          if (d >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) return this.fail(i, start, 'chunk size too large')
            this.remaining = this.remaining * 16 + d
          } else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = S.Ext
          else if (c === 0x0d) this.state = S.SizeLf
          else if (c === 0x0a) this.sizeLineDone()
          else return this.fail(i, start, 'invalid chunk size')
          break
        }
        case S.Ext:
          if (c === 0x0d) this.state = S.SizeLf
          else if (c === 0x0a) this.sizeLineDone()
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return this.fail(i, start, 'control character in chunk extension')
          break
        case S.SizeLf:
          if (c !== 0x0a) return this.fail(i, start, 'bare CR in chunk size line')
          this.sizeLineDone()
          break
        case S.DataCr:
          if (c === 0x0d) this.state = S.DataLf
          else if (c === 0x0a) this.state = S.SizeFirst
          else return this.fail(i, start, 'chunk data longer than its size')
          break
        case S.DataLf:
          if (c !== 0x0a) return this.fail(i, start, 'bare CR after chunk data')
          this.state = S.SizeFirst
          break
        case S.TrailerStart:
          if (c === 0x0d) this.state = S.EndLf
          else if (c === 0x0a) this.state = S.Done
          else if (c === 0x20 || c === 0x09) return this.fail(i, start, 'obsolete line folding in trailer')
          else this.state = S.Trailer
          if (this.state !== S.Done && ++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail(i, start, 'trailer section too large')
          break
        case S.Trailer:
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail(i, start, 'trailer section too large')
          if (c === 0x0d) this.state = S.TrailerLf
          else if (c === 0x0a) this.state = S.TrailerStart
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return this.fail(i, start, 'control character in trailer')
          break
        case S.TrailerLf:
          if (c !== 0x0a) return this.fail(i, start, 'bare CR in trailer')
          this.state = S.TrailerStart
          break
        case S.EndLf:
          if (c !== 0x0a) return this.fail(i, start, 'bare CR at end of chunked body')
          this.state = S.Done
          break
      }
    }
    return i - start
  }

  private sizeLineDone(): void {
    if (this.remaining === 0) this.state = S.TrailerStart
    else this.state = S.Data
  }

  private fail(i: number, start: number, reason: string): number {
    this.error = reason
    this.state = S.Done
    return i - 1 - start
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}
