/**
 * Joins an HTTP/2 CONNECT stream and a TCP socket byte for byte, honouring half-close both
 * ways: END_STREAM from the peer ends the socket's writes (FIN), the socket's FIN ends the
 * stream (END_STREAM). A reset on either side resets the other (RST_STREAM CONNECT_ERROR one
 * way, TCP RST the other), as RFC 9113 section 8.5 asks. Usable on both ends of the tunnel.
 */
import http2 from 'node:http2'
import type net from 'node:net'
import type { Readable, Writable } from 'node:stream'

const { NGHTTP2_NO_ERROR, NGHTTP2_CONNECT_ERROR } = http2.constants

export function spliceStream(stream: http2.Http2Stream, socket: net.Socket, onClosed: (r: { error: boolean }) => void): void {
  let open = 2
  let failed = false
  const reset = () => stream.rstCode !== undefined && stream.rstCode !== NGHTTP2_NO_ERROR
  const fail = () => {
    if (failed) return
    failed = true
    if (!stream.closed) stream.close(NGHTTP2_CONNECT_ERROR)
    if (socket.destroyed) return
    // libuv does not allow a reset after a shutdown (FIN) was requested: the handle never
    // finishes closing and the process spins at exit. Once our FIN is on its way, close plainly.
    if (socket.writableEnded) socket.destroy()
    else socket.resetAndDestroy()
  }
  const done = () => {
    if (--open === 0) onClosed({ error: failed })
  }
  socket.allowHalfOpen = true
  socket.on('error', fail)
  stream.on('error', fail)
  stream.on('aborted', fail)
  socket.on('close', (hadError) => {
    if (hadError) fail()
    done()
  })
  stream.on('close', () => {
    if (reset()) fail()
    else if (!socket.readableEnded && !socket.destroyed) {
      // Closed without our END_STREAM (RST_STREAM NO_ERROR): nothing more the socket sends can
      // be carried, so finish writing what arrived and close it.
      socket.end(() => socket.destroy())
    }
    done()
  })
  // A reset stream also ends its readable side; wait a turn so that a reset is passed on as
  // a reset, not as a FIN.
  stream.on('end', () => setImmediate(() => {
    if (!failed && !reset() && !socket.destroyed) socket.end()
  }))
  // HTTP/2 hands DATA over in pieces of a TLS record or less, often two per record where a
  // frame ends inside it, each from its own callback. Corked until the event loop's check
  // phase, the pieces of one read leave in one writev instead of a write each.
  flow(stream, socket, (chunk) => {
    if (socket.writableCorked === 0) {
      socket.cork()
      setImmediate(uncork, socket)
    }
    socket.write(chunk)
  })
  flow(socket, stream, (chunk) => stream.write(chunk))
  socket.on('end', () => {
    if (!stream.destroyed) stream.end()
  })
  // The source side pauses the client while the CONNECT is answered.
  socket.resume()
}

/**
 * Chunks from `from` written to `to`, `from` paused only once MAX_UNSENT waits in `to`. Not
 * pipe: a 64 KiB read is over a writable's 16 KiB high-water mark, so pipe pauses and resumes
 * the source after nearly every read, a readStop and readStart (two epoll_ctl calls) each
 * time. A paused stream also stops returning window to its peer, so the peer stops in turn.
 */
function flow(from: Readable, to: Writable, write: (chunk: Buffer) => void): void {
  from.on('data', (chunk: Buffer) => {
    if (to.destroyed) return
    write(chunk)
    if (to.writableLength >= MAX_UNSENT) from.pause()
  })
  to.on('drain', () => from.resume())
}

/** Bytes either side may hold unsent before the other is paused (and, for a stream, its window with it). */
const MAX_UNSENT = 256 * 1024

function uncork(socket: net.Socket): void {
  socket.uncork()
}
