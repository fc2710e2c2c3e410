/**
 * Joins two sockets byte for byte in both directions, honouring half-close: when one side's
 * reads end, the other side's writes are ended (pipe does that), and each socket closes once
 * both of its directions are done. An error on either side destroys both.
 */
import type { Duplex } from 'node:stream'

export function spliceSockets(a: Duplex, b: Duplex, onClosed: () => void): void {
  let open = 2
  const destroyBoth = () => {
    a.destroy()
    b.destroy()
  }
  const closed = (hadError: boolean) => {
    // A reset or error on one side leaves nothing to deliver; a clean close waits for the other side.
    if (hadError) destroyBoth()
    if (--open === 0) onClosed()
  }
  a.allowHalfOpen = true
  b.allowHalfOpen = true
  a.on('error', destroyBoth)
  b.on('error', destroyBoth)
  a.on('close', closed)
  b.on('close', closed)
  a.pipe(b)
  b.pipe(a)
}
