/**
 * Holds the writes made while handling one batch of I/O events and sends them when the batch
 * is done (setImmediate runs right after the poll phase). A peer woken by the first write then
 * finds the rest already there, instead of being woken once per write.
 */
import type { Writable } from 'node:stream'

const corked: Writable[] = []
let scheduled = false

function flush(): void {
  scheduled = false
  for (let i = 0; i < corked.length; i++) corked[i]!.uncork()
  corked.length = 0
}

export function batchedWrite(stream: Writable, buf: Buffer): boolean {
  if (stream.writableCorked === 0) {
    stream.cork()
    corked.push(stream)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  return stream.write(buf)
}
