/**
 * One Buffer for a head and the body bytes that came with it, so each is sent with one plain
 * write (one syscall, no writev array, no string write path). Pure.
 */

/** Larger bodies are written after the head instead: copying them costs more than a second write. */
export const MERGED_BODY_LIMIT = 16 * 1024

/** `head` (latin1) followed by `body[0, bodyEnd)`; pass a null body for the head alone. */
export function headWithBody(head: string, body: Buffer | null, bodyEnd: number): Buffer {
  const n = body === null ? 0 : bodyEnd
  // Small sizes come from Node's shared pool, so this is a slice, not an allocation.
  const out = Buffer.allocUnsafe(head.length + n)
  out.write(head, 0, 'latin1')
  if (n > 0) body!.copy(out, head.length, 0, n)
  return out
}
