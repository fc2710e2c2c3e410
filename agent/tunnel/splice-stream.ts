/**
 * Joins an HTTP/2 CONNECT stream and a TCP socket byte for byte, honouring half-close both
 * ways: END_STREAM from the peer ends the socket's writes (FIN), the socket's FIN ends the
 * stream (END_STREAM). A reset on either side resets the other (RST_STREAM CONNECT_ERROR one
 * way, TCP RST the other), as RFC 9113 section 8.5 asks. Usable on both ends of the tunnel.
 */
import http2 from 'node:http2'
import type net from 'node:net'

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
  stream.on('data', (chunk: Buffer) => {
    if (socket.destroyed) return
    // HTTP/2 hands DATA over in pieces of a TLS record or less, often two per record where a
    // frame ends inside it, each from its own callback. Corked until the event loop's check
    // phase, the pieces of one read leave in one writev instead of a write each.
    if (socket.writableCorked === 0) {
      socket.cork()
      setImmediate(uncork, socket)
    }
    socket.write(chunk)
    if (socket.writableLength >= MAX_UNSENT) stream.pause()
  })
  socket.on('drain', () => stream.resume())
  // Socket to stream: pipe would pause the socket after nearly every read, as one 64 KiB read
  // is over a stream's 16 KiB high-water mark, and each pause and resume costs a readStop and
  // readStart (two epoll_ctl calls). The stream's flow-control window bounds what it holds;
  // the socket is paused only once MAX_UNSENT waits to be framed.
  socket.on('data', (chunk: Buffer) => {
    if (stream.destroyed) return
    stream.write(chunk)
    if (stream.writableLength >= MAX_UNSENT) socket.pause()
  })
  stream.on('drain', () => socket.resume())
  socket.on('end', () => {
    if (!stream.destroyed) stream.end()
  })
  // The source side pauses the client while the CONNECT is answered.
  socket.resume()
}

/** Bytes either side may hold unsent before the other is paused (and, for a stream, its window with it). */
const MAX_UNSENT = 256 * 1024

function uncork(socket: net.Socket): void {
  socket.uncork()
}
