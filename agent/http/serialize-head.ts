/**
 * A request head and the body bytes that came with it in one Buffer, so each is sent with
 * one plain write (one syscall, no writev array). Pure.
 */

/** Larger bodies are written after the head instead: copying them costs more than a second write. */
export const MERGED_BODY_LIMIT = 16 * 1024

/** `head` followed by `body[0, bodyEnd)`; the head itself when there is no body. */
export function headWithBody(head: Buffer, body: Buffer | null, bodyEnd: number): Buffer {
  if (body === null || bodyEnd === 0) return head
  // Small sizes come from Node's shared pool, so this is a slice, not an allocation.
  const out = Buffer.allocUnsafe(head.length + bodyEnd)
  head.copy(out, 0)
  body.copy(out, head.length, 0, bodyEnd)
  return out
}
