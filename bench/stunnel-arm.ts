/**
 * The stunnel arm: stunnel in client mode on the source host (accepts plain TCP, connects
 * with TLS to the server stunnel) and in server mode on the destination host (accepts TLS,
 * connects to the backend). Mutual TLS 1.3 only, both chains verified (bench-credentials.ts).
 * Foreground, logging off, TCP_NODELAY as the agents set it; everything else (threads, TLS
 * session resumption on the client) is stunnel's default.
 */
import fs from 'node:fs'
import path from 'node:path'
import { CLI, makeNodeCredentials } from './bench-credentials'
import { freePort, run, startProcess, waitForPort, which, type Managed } from './processes'
import { DEST_HOST, SOURCE_HOST, type BackendPorts, type HostPort, type TunnelArm, type TunnelSkipped } from './tunnel-arm'

interface Service { readonly name: string; readonly accept: HostPort; readonly connect: HostPort }

export async function startStunnelArm(s: BackendPorts): Promise<TunnelArm | TunnelSkipped> {
  const stunnel = which('stunnel4') ?? which('stunnel')
  if (!stunnel) return { name: 'stunnel', reason: 'stunnel is not installed (apt-get install -y stunnel4)' }
  if (!fs.existsSync(CLI)) return { name: 'stunnel', reason: `${CLI} is missing (build first: npm run build)` }
  const dir = await makeNodeCredentials('nm-bench-stunnel-', ['client', 'server'])

  // Server side: TLS in on DEST_HOST, plain out to the backends; client side: plain in on SOURCE_HOST.
  const serverSide: Service[] = [
    { name: 'iperf', accept: { host: DEST_HOST, port: await freePort(DEST_HOST) }, connect: { host: DEST_HOST, port: s.iperfPort } },
    { name: 'http', accept: { host: DEST_HOST, port: await freePort(DEST_HOST) }, connect: { host: DEST_HOST, port: s.httpPort } },
  ]
  const clientSide: Service[] = []
  for (const svc of serverSide) clientSide.push({ name: svc.name, accept: { host: SOURCE_HOST, port: await freePort(SOURCE_HOST) }, connect: svc.accept })

  const server = await startStunnel(stunnel, dir, 'server', serverSide)
  const client = await startStunnel(stunnel, dir, 'client', clientSide)
  const version = (await run(stunnel, ['-version'])).stderr.split('\n').find((l) => /^stunnel \d/.test(l))?.replace(/ on .*$/, '') ?? 'stunnel'
  const [iperf, http] = clientSide as [Service, Service]
  return {
    name: 'stunnel', iperf: iperf.accept, http: http.accept,
    proxyPids: () => [client.pid, server.pid], procs: [client, server],
    describe: `${version}, client on ${SOURCE_HOST}, server on ${DEST_HOST}, TLS 1.3 mutual, RSA 2048, default threading and session cache`,
  }
}

async function startStunnel(stunnel: string, dir: string, role: 'client' | 'server', services: readonly Service[]): Promise<Managed> {
  const creds = path.join(dir, role)
  const sections = services.map((svc) => `
[${svc.name}]
accept = ${svc.accept.host}:${svc.accept.port}
connect = ${svc.connect.host}:${svc.connect.port}`).join('\n')
  const conf = path.join(dir, `${role}.conf`)
  fs.writeFileSync(conf, `
foreground = yes
syslog = no
debug = 0
pid =
${role === 'client' ? 'client = yes' : ''}
cert = ${path.join(creds, 'node.crt')}
key = ${path.join(creds, 'node.key')}
CAfile = ${path.join(creds, 'ca.crt')}
; Both sides check the peer's chain; on the server this also requires a client certificate.
verifyChain = yes
sslVersionMin = TLSv1.3
sslVersionMax = TLSv1.3
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
${sections}
`)
  const proc = startProcess(`stunnel ${role}`, stunnel, [conf])
  for (const svc of services) await waitForPort(proc, svc.accept.host, svc.accept.port)
  return proc
}
