/**
 * Assembles an outgoing head from lines of a received head (copied as bytes) and latin1 text,
 * and returns it as one Buffer together with the body bytes that follow it, so it leaves in
 * one write. Consecutive received lines are copied as one range. A head is built
 * synchronously from start() to finish(), so one writer serves the whole thread. A head built
 * earlier (a request head kept for a resend) is joined to its body the same way.
 */
import { CR, LF } from './http-chars'

/**
 * Up to this many bytes are moved with a plain loop: Buffer#copy and Buffer#write cost a call
 * into C++ and a view object each, more than copying a header line byte by byte.
 */
const SMALL = 128

/**
 * Bodies up to this size leave in the same Buffer as their head (one write); larger ones are
 * written after it, as copying them costs more than a second write.
 */
export const MERGED_BODY_LIMIT = 16 * 1024

export class HeadWriter {
  private buf = Buffer.allocUnsafeSlow(16 * 1024)
  private used = 0
  /** The run of received lines not copied yet: src[runStart, runEnd), line endings inside. */
  private runSrc: Buffer | null = null
  private runStart = 0
  private runEnd = 0

  start(): this {
    this.used = 0
    this.runSrc = null
    return this
  }

  /** A received line, src[start, end) without its line ending; it is sent with CRLF. */
  line(src: Buffer, start: number, end: number): void {
    // The next line of the same head right after a CRLF extends the run.
    if (src === this.runSrc && start === this.runEnd + 2 && src[this.runEnd] === CR) {
      this.runEnd = end
      return
    }
    this.flush()
    this.runSrc = src
    this.runStart = start
    this.runEnd = end
  }

  /** Text to send as it is (latin1); whole lines carry their own CRLF. */
  text(s: string): void {
    this.flush()
    const n = s.length
    this.reserve(n)
    const buf = this.buf
    const at = this.used
    if (n <= SMALL) for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i)
    else buf.write(s, at, 'latin1')
    this.used = at + n
  }

  /** The head, then body[0, bodyEnd), in one new Buffer; a null body for the head alone. */
  finish(body: Buffer | null = null, bodyEnd = 0): Buffer {
    this.flush()
    return joinHeadAndBody(this.buf, this.used, body, body === null ? 0 : bodyEnd)
  }

  private flush(): void {
    const src = this.runSrc
    if (src === null) return
    this.runSrc = null
    const n = this.runEnd - this.runStart
    this.reserve(n + 2)
    copyBytes(src, this.runStart, this.runEnd, this.buf, this.used)
    this.buf[this.used + n] = CR
    this.buf[this.used + n + 1] = LF
    this.used += n + 2
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.used + n))
    this.buf.copy(bigger, 0, 0, this.used)
    this.buf = bigger
  }
}

/** head[0, headEnd) then body[0, bodyEnd) in one new Buffer. */
export function joinHeadAndBody(head: Buffer, headEnd: number, body: Buffer | null, bodyEnd: number): Buffer {
  // Small sizes come from Node's shared pool, so this is a slice, not an allocation.
  const out = Buffer.allocUnsafe(headEnd + bodyEnd)
  copyBytes(head, 0, headEnd, out, 0)
  if (bodyEnd > 0) copyBytes(body!, 0, bodyEnd, out, headEnd)
  return out
}

function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
  if (end - start > SMALL) src.copy(dst, at, start, end)
  else for (let i = start; i < end; i++) dst[at++] = src[i]!
}
