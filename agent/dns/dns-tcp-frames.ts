/**
 * DNS over TCP framing (RFC 1035 4.2.2): every message follows its length as two bytes. The
 * server's TCP side and the forwarder's TCP retry both read and write it.
 */

/** `message` behind its length, ready to write. */
export function frameDnsMessage(message: Buffer): Buffer {
  const frame = Buffer.alloc(2 + message.length)
  frame.writeUInt16BE(message.length)
  message.copy(frame, 2)
  return frame
}

/** Splits a TCP byte stream into whole DNS messages. */
export class DnsFrameReader {
  private buffered: Buffer = Buffer.alloc(0)

  /** The messages `chunk` completes, each in its own buffer; a partial one waits for more. */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    const messages: Buffer[] = []
    while (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
      const end = 2 + this.buffered.readUInt16BE(0)
      // A copy, so a kept message does not pin the rest of the stream's buffer.
      messages.push(Buffer.from(this.buffered.subarray(2, end)))
      this.buffered = this.buffered.subarray(end)
    }
    return messages
  }
}
