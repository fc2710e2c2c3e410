/**
 * Assembles an outgoing head from lines of a received head (copied as bytes) and latin1 text,
 * and returns it as one Buffer together with the body bytes that follow it, so it leaves in
 * one write. Consecutive received lines are copied as one range. A head is built
 * synchronously from start() to finish(), so one writer serves the whole thread.
 */
import { CR, LF } from './http-chars'

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
    this.reserve(s.length)
    this.used += this.buf.write(s, this.used, 'latin1')
  }

  /** The head, then body[0, bodyEnd), in one new Buffer; a null body for the head alone. */
  finish(body: Buffer | null = null, bodyEnd = 0): Buffer {
    this.flush()
    const n = body === null ? 0 : bodyEnd
    // Small sizes come from Node's shared pool, so this is a slice, not an allocation.
    const out = Buffer.allocUnsafe(this.used + n)
    this.buf.copy(out, 0, 0, this.used)
    if (n > 0) body!.copy(out, this.used, 0, n)
    return out
  }

  private flush(): void {
    const src = this.runSrc
    if (src === null) return
    this.runSrc = null
    const n = this.runEnd - this.runStart
    this.reserve(n + 2)
    src.copy(this.buf, this.used, this.runStart, this.runEnd)
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
