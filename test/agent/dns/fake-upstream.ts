/**
 * A real DNS server (UDP and TCP on one loopback port) standing in for an upstream resolver.
 * It answers A queries from `records` and records what it saw.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import dnsPacket, { type Packet } from 'dns-packet'
import { freePort } from '../../helpers/free-port'

export interface FakeUpstreamOptions {
  /** Lowercase name -> IPv4 answers. */
  readonly records: Readonly<Record<string, readonly string[]>>
  /** Answer UDP with TC set and no records, so only TCP gets the answer. */
  readonly truncateUdp?: boolean
  /** Never answer UDP (a black hole), to exercise timeouts. */
  readonly silentUdp?: boolean
  /** Per-name delay in ms before answering, to make answers leave out of order. */
  readonly delayMs?: Readonly<Record<string, number>>
  /** Before the real answer, send one with a wrong id (a spoof attempt). */
  readonly spoofFirst?: boolean
}

export interface FakeUpstream {
  readonly host: string
  readonly port: number
  readonly seen: { udp: number; tcp: number; ids: number[] }
  close(): Promise<void>
}

export function answerFor(query: Packet, opts: FakeUpstreamOptions, truncate: boolean): Packet {
  const q = query.questions![0]!
  const ips = opts.records[q.name.toLowerCase()]
  return {
    id: query.id, type: 'response', flags: ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | (truncate ? dnsPacket.TRUNCATED_RESPONSE : 0) | (ips ? 0 : 3),
    questions: query.questions,
    answers: truncate || !ips || q.type !== 'A' ? [] : ips.map((ip) => ({ type: 'A' as const, name: q.name, ttl: 60, data: ip })),
  }
}

export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const host = '127.0.0.1'
  const port = await freePort(host)
  const seen = { udp: 0, tcp: 0, ids: [] as number[] }
  const udp = dgram.createSocket('udp4')
  udp.on('message', (msg, rinfo) => {
    seen.udp++
    if (opts.silentUdp) return
    const query = dnsPacket.decode(msg)
    seen.ids.push(query.id ?? 0)
    const delay = opts.delayMs?.[query.questions![0]!.name.toLowerCase()] ?? 0
    setTimeout(() => {
      if (opts.spoofFirst) {
        udp.send(dnsPacket.encode({ ...answerFor(query, opts, false), id: ((query.id ?? 0) + 1) & 0xffff, answers: [{ type: 'A', name: query.questions![0]!.name, data: '6.6.6.6' }] }), rinfo.port, rinfo.address)
      }
      udp.send(dnsPacket.encode(answerFor(query, opts, opts.truncateUdp === true)), rinfo.port, rinfo.address)
    }, delay)
  })
  const conns = new Set<net.Socket>()
  const tcp = net.createServer((conn) => {
    conns.add(conn)
    conn.on('close', () => conns.delete(conn))
    let buf = Buffer.alloc(0)
    conn.on('error', () => {})
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const query = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        buf = buf.subarray(2 + buf.readUInt16BE(0))
        seen.tcp++
        conn.write(dnsPacket.streamEncode(answerFor(query, opts, false)))
      }
    })
  })
  await new Promise<void>((resolve) => udp.bind(port, host, () => resolve()))
  await new Promise<void>((resolve) => tcp.listen(port, host, () => resolve()))
  return {
    host, port, seen,
    close: async () => {
      for (const c of conns) c.destroy()
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ])
    },
  }
}
