/** Small clients for the DNS tests: `dig`, and raw UDP/TCP exchanges for packets dig will not send. */
import { execFile } from 'node:child_process'
import dgram from 'node:dgram'
import net from 'node:net'
import type { Packet } from 'dns-packet'

/** The data of each answer record (OPT has none). */
export function answerData(p: Packet, section: 'answers' | 'additionals' | 'authorities' = 'answers'): unknown[] {
  return (p[section] ?? []).filter((a) => a.type !== 'OPT').map((a) => ('data' in a ? a.data : undefined))
}

/** Runs dig against 127.0.0.1:port; resolves with stdout (dig exits 0 even for NXDOMAIN). */
export function dig(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+time=5', '+tries=1', ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`dig ${args.join(' ')} failed: ${stderr || stdout || err.message}`))
      else resolve(stdout)
    })
  })
}

/** Sends one datagram and waits for one reply, or null after `waitMs`. */
export function udpExchange(port: number, message: Buffer, waitMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4')
    const timer = setTimeout(() => { sock.close(); resolve(null) }, waitMs)
    sock.on('message', (msg) => { clearTimeout(timer); sock.close(); resolve(msg) })
    sock.send(message, port, '127.0.0.1')
  })
}

/** Opens a TCP connection, writes `bytes`, and collects `expect` length-framed replies. */
export function tcpExchange(port: number, bytes: Buffer, expect: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    const replies: Buffer[] = []
    let buf = Buffer.alloc(0)
    sock.on('error', reject)
    sock.on('connect', () => sock.write(bytes))
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        buf = buf.subarray(2 + buf.readUInt16BE(0))
      }
      if (replies.length >= expect) { sock.destroy(); resolve(replies) }
    })
    sock.on('close', () => resolve(replies))
  })
}

export function frame(message: Buffer): Buffer {
  const len = Buffer.alloc(2)
  len.writeUInt16BE(message.length)
  return Buffer.concat([len, message])
}
