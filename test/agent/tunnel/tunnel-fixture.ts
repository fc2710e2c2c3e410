/**
 * A tunnel server under test on a loopback port 0, with certificates from the test CA, a
 * routing table the test gives, captured logs and recorded deliveries; plus TCP workloads
 * that count the connections they get.
 */
import net from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { Logger } from '../../../agent/observe/logger'
import type { RoutingTable } from '../../../agent/routing/routing-table'
import { deliverTcp } from '../../../agent/tunnel/deliver-tcp'
import { startTunnelServer, type InboundDelivery, type TunnelServer } from '../../../agent/tunnel/tunnel-server'
import { createTestCa, testCertSource, type TestCa, type TestCertSource } from '../../helpers/test-certs'

export const TD = 'nodemesh.local'
export const NODE_A = `spiffe://${TD}/node/node-a`
export const NODE_B = `spiffe://${TD}/node/node-b`
export const WEB = `spiffe://${TD}/ns/default/sa/web`
export const CLIENT = `spiffe://${TD}/ns/default/sa/client`
export const OTHER_CLIENT = `spiffe://${TD}/ns/default/sa/other`

export interface LogRecord { [k: string]: unknown }

export function captureLog(): { log: Logger; logs: LogRecord[] } {
  const logs: LogRecord[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogRecord)
      cb()
    },
  })
  return { log: pino({ level: 'info' }, sink), logs }
}

let sharedCa: TestCa | undefined
export function meshCa(): TestCa {
  sharedCa ??= createTestCa('nodemesh test mesh CA')
  return sharedCa
}

/** A CertSource holding certificates from the mesh test CA for the given identities. */
export function meshCerts(nodeIdentity: string, identities: readonly string[]): TestCertSource {
  const ca = meshCa()
  return testCertSource({
    bundlePem: ca.certPem, nodeIdentity,
    certs: [nodeIdentity, ...identities].map((uri) => ca.issue({ uris: [uri] })),
  })
}

export interface TestTunnel {
  readonly server: TunnelServer
  readonly certs: TestCertSource
  readonly logs: LogRecord[]
  readonly deliveries: InboundDelivery[]
  setTable(t: RoutingTable): void
}

export async function startTestTunnel(opts: {
  table: RoutingTable
  certs?: TestCertSource
  agentPorts?: readonly number[]
  idleTimeoutMs?: number
  onDeliver?: (d: InboundDelivery) => void
}): Promise<TestTunnel> {
  const certs = opts.certs ?? meshCerts(NODE_A, [WEB])
  const { log, logs } = captureLog()
  const deliveries: InboundDelivery[] = []
  let table = opts.table
  const server = await startTunnelServer({
    address: '127.0.0.1', port: 0, certs, trustDomain: TD, localNode: 'node-a',
    agentPorts: opts.agentPorts ?? [15000, 15020, 15021], table: () => table, log,
    idleTimeoutMs: opts.idleTimeoutMs,
    onDeliver: (d) => {
      deliveries.push(d)
      if (opts.onDeliver) opts.onDeliver(d)
      else deliverTcp(d)
    },
  })
  return { server, certs, logs, deliveries, setTable: (t) => { table = t } }
}

export interface TestWorkload {
  readonly port: number
  readonly connections: number
  close(): Promise<void>
}

/**
 * `echo` pipes bytes back as they come; `shout` answers the upper-cased bytes only after the
 * client's FIN, so a reply proves half-close made it through.
 */
export async function startWorkload(mode: 'echo' | 'shout'): Promise<TestWorkload> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    if (mode === 'echo') {
      s.pipe(s)
      return
    }
    const got: Buffer[] = []
    s.on('data', (c: Buffer) => got.push(c))
    s.on('end', () => s.end(Buffer.concat(got).toString('latin1').toUpperCase()))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() { return connections },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      server.close(() => r())
    }),
  }
}

/** Polls until `cond` holds; fails after `ms` so a broken expectation does not hang the run. */
export async function eventually(cond: () => boolean, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}
