/**
 * Starts the agent: registry watcher -> snapshot -> routing table -> listeners, plus DNS, the
 * HTTP proxy endpoint, admin, metrics, readiness, the local gRPC API and the lease. Startup
 * never waits on the registry when a saved snapshot exists (static stability).
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type http from 'node:http'
import { NmError } from '../registry/errors'
import { openStore, redactUrl } from '../registry/open-store'
import type { Snapshot } from '../registry/snapshot'
import { loadSnapshot, saveSnapshot } from '../registry/snapshot-file'
import type { RegistryStore } from '../registry/store'
import { watchRegistry, type RegistryWatcher } from '../registry/watch-registry'
import type { AgentOptions } from './agent-options'
import { closeServer, startAdminServer } from './admin/admin-server'
import { renderRoutes, renderSnapshot } from './admin/render-debug'
import type { AgentStatus } from './api/agent-status'
import { serveAgentApi } from './api/serve-agent-api'
import { DataPlane } from './data-plane'
import { startDnsServer } from './dns/dns-server'
import { chooseUpstreams } from './dns/read-resolv-conf'
import { keepLease } from './lease/keep-lease'
import { LocalEndpoints } from './lease/local-endpoints'
import { createLogger, type Logger } from './observe/logger'
import { createMetrics } from './observe/metrics'
import { startMetricsServer, startReadyServer } from './observe/observe-servers'
import { persistSnapshots } from './persist-snapshots'
import { startCapture, type Capture } from './start-capture'
import { startMeshTunnel, type MeshTunnel } from './start-mesh-tunnel'
import { createAuthzMetrics } from './authz/authz-metrics'

export const AGENT_VERSION: string = (require('../../package.json') as { version: string }).version

export interface RunningAgent {
  readonly log: Logger
  close(): Promise<void>
}

/** How long startup waits for the registry before serving from the saved snapshot. */
const FIRST_SYNC_WAIT_MS = 2_000

export async function runAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = createLogger(opts.logLevel).child({ node: opts.node })
  const metrics = createMetrics()
  prepareStateDir(opts.stateDir)
  const registryName = opts.registry.startsWith('file:') ? opts.registry : redactUrl(opts.registry)
  log.info({ registry: registryName, stateDir: opts.stateDir, version: AGENT_VERSION }, 'agent starting')

  const store: RegistryStore = await openStore(opts.registry, { role: 'agent', log })
  const dataPlane = new DataPlane({ dnsDomain: opts.dnsDomain, node: opts.node, log, metrics, authz: createAuthzMetrics(metrics.registry), bind: !opts.capture,
    ...(opts.vipCidr ? { expectedVipCidr: opts.vipCidr } : {}),
  })
  let mesh: MeshTunnel | undefined
  let capture: Capture | undefined
  const snapshotFile = path.join(opts.stateDir, 'snapshot.json')
  const persist = persistSnapshots(snapshotFile, saveSnapshot, log)
  const closers: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log.warn({ err: err.message }, 'error while stopping'))
  }

  try {
    if (opts.capture) {
      // First, so that a missing privilege or addon fails the start before anything listens.
      const started = await startCapture({
        port: opts.capturePort, log,
        onConnection: (socket, vipPort) => dataPlane.acceptVip(socket, vipPort),
        onRefused: (reason) => metrics.connectionsRefused.labels({ reason }).inc(),
      })
      capture = started
      closers.push(() => started.close())
    }
    const saved = await loadSaved(snapshotFile, log)
    if (saved) {
      await dataPlane.apply(saved.snapshot)
      capture?.onSnapshot(saved.snapshot)
    }

    const registryState = { connected: false, stalenessSeconds: 0 }
    const synced = new Promise<void>((resolve) => {
      const watcher: RegistryWatcher = watchRegistry({
        store, log, ...(saved ? { initial: saved.snapshot } : {}),
        onSnapshot: (snapshot: Snapshot, rejected) => {
          for (const r of rejected) metrics.rejectedRecords.inc({ kind: r.kind })
          dataPlane.apply(snapshot).then(resolve, (err: Error) => log.error({ err: err.message }, 'applying snapshot failed'))
          mesh?.onSnapshot(snapshot)
          capture?.onSnapshot(snapshot)
          persist(snapshot)
        },
      })
      closers.push(() => watcher.close())
      const tick = setInterval(() => {
        const st = watcher.status()
        if (st.connected) resolve()
        const since = st.lastSyncAt ?? saved?.savedAt
        registryState.connected = st.connected
        registryState.stalenessSeconds = st.connected || since === undefined ? 0 : (Date.now() - since) / 1000
        metrics.registryConnected.set(st.connected ? 1 : 0)
        metrics.registryStaleness.set(registryState.stalenessSeconds)
      }, 250)
      closers.push(async () => clearInterval(tick))
    })
    closers.push(() => persist.flush())

    const local = await LocalEndpoints.open(path.join(opts.stateDir, 'local-endpoints.json'))
    const lease = keepLease({
      store, local, log, ttlMs: opts.leaseTtlMs,
      node: { name: opts.node, tunnelAddress: opts.tunnelAddress, agentVersion: AGENT_VERSION, startedAt: new Date().toISOString() },
    })
    closers.push(async () => lease.stop())
    let leaseUp = false
    void lease.firstBeat.then(() => { leaseUp = true })

    closers.push(() => dataPlane.close())
    const proxyEndpoint = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => dataPlane.acceptProxyEndpoint(s))
    await listenOrExplain(proxyEndpoint, opts.localAddress, opts.httpProxyPort, 'HTTP proxy endpoint', '--http-proxy-port')
    closers.push(() => new Promise((r) => proxyEndpoint.close(() => r())))

    const dns = await startDnsServer({
      address: opts.localAddress, port: opts.dnsPort, table: () => dataPlane.table(),
      upstreams: await upstreamsOrNone(opts.dnsUpstreams, log), metrics, log,
    }).catch((err: Error) => { throw explainListen(err, 'DNS', opts.localAddress, opts.dnsPort, '--dns-port') })
    closers.push(() => dns.close())

    const status = (): AgentStatus => ({
      node: opts.node, registry: registryName, revision: dataPlane.table().revision,
      connected: registryState.connected, stalenessSeconds: registryState.stalenessSeconds,
      listeners: dataPlane.listeners.openCount, version: AGENT_VERSION,
    })
    const servers: http.Server[] = []
    servers.push(await startAdminServer(opts.adminPort, {
      log,
      views: {
        '/debug/snapshot': () => { const s = dataPlane.lastSnapshot(); return s ? renderSnapshot(s) : { error: 'no snapshot loaded yet' } },
        '/debug/routes': () => renderRoutes(dataPlane.table()),
        '/debug/listeners': () => ({ open: dataPlane.listeners.keys(), failed: dataPlane.listeners.failed() }),
        '/debug/certs': () => mesh?.debugCerts() ?? { error: 'starting' },
        '/debug/status': status,
      },
    }).catch((err: Error) => { throw explainListen(err, 'admin', '127.0.0.1', opts.adminPort, '--admin-port') }))
    servers.push(await startMetricsServer(opts.observeAddress, opts.metricsPort, metrics)
      .catch((err: Error) => { throw explainListen(err, 'metrics', opts.observeAddress, opts.metricsPort, '--metrics-port') }))
    servers.push(await startReadyServer(opts.observeAddress, opts.readyPort, () => {
      if (!dataPlane.ready) return 'no registry snapshot loaded yet'
      if (capture && !capture.installed) return 'capture rules not installed yet'
      if (!leaseUp && registryState.connected) return 'lease not established yet'
      return undefined
    }).catch((err: Error) => { throw explainListen(err, 'readiness', opts.observeAddress, opts.readyPort, '--ready-port') }))
    closers.push(async () => { await Promise.all(servers.map(closeServer)) })

    const api = await serveAgentApi({
      socketPath: opts.apiSocket, store, node: opts.node, log, status,
      onRegistered: (ep) => { void local.add(ep) },
      onDeregistered: (_service, id) => { void local.remove(id) },
    })
    closers.push(() => api.close())
    closers.unshift(() => store.close())

    const tunnelPort = Number(opts.tunnelAddress.slice(opts.tunnelAddress.lastIndexOf(':') + 1))
    const meshTunnel = startMeshTunnel(opts, {
      log, registry: metrics.registry, dataPlane,
      agentPorts: [opts.adminPort, opts.dnsPort, opts.httpProxyPort, opts.metricsPort, opts.readyPort, tunnelPort, opts.capturePort],
    })
    mesh = meshTunnel
    closers.push(() => meshTunnel.close())

    const first = await Promise.race([synced.then(() => true), delay(FIRST_SYNC_WAIT_MS).then(() => false)])
    if (!first) {
      if (saved) log.warn({ revision: saved.snapshot.revision }, `NM_REGISTRY_UNREACHABLE: ${registryName} is not answering; serving from the saved snapshot (revision ${saved.snapshot.revision}) until it does`)
      else log.warn(`NM_REGISTRY_UNREACHABLE: ${registryName} is not answering and there is no saved snapshot; not ready until the registry answers`)
    }
    log.info({ dns: `${opts.localAddress}:${opts.dnsPort}`, httpProxy: `${opts.localAddress}:${opts.httpProxyPort}`, api: opts.apiSocket }, 'agent started')
    return { log, close }
  } catch (err) {
    await close()
    throw err
  }
}

function prepareStateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.accessSync(dir, fs.constants.W_OK)
  } catch (err) {
    throw new NmError('NM_STATE_DIR', `cannot use state directory ${dir} (${(err as Error).message}): pass --state-dir or set NODEMESH_STATE_DIR to a writable directory`)
  }
}

async function loadSaved(file: string, log: Logger): Promise<{ snapshot: Snapshot; savedAt: number } | undefined> {
  const loaded = await loadSnapshot(file)
  if (loaded === undefined) return undefined
  if ('error' in loaded) {
    log.warn({ file, err: loaded.error }, 'saved snapshot unreadable; starting without it')
    return undefined
  }
  for (const r of loaded.rejected) log.warn({ kind: r.kind, id: r.id, reason: r.reason }, 'saved snapshot record rejected')
  log.info({ revision: loaded.snapshot.revision, file }, 'loaded saved snapshot')
  return { snapshot: loaded.snapshot, savedAt: fs.statSync(file).mtimeMs }
}

/**
 * `--dns-upstream` or resolv.conf. A host without nameservers still gets mesh names (other
 * names then get SERVFAIL); a bad `--dns-upstream` stops the start.
 */
async function upstreamsOrNone(specs: readonly string[] | undefined, log: Logger): Promise<Array<{ host: string; port: number }>> {
  try {
    return await chooseUpstreams(specs)
  } catch (err) {
    if (specs && specs.length > 0) throw err
    log.warn({ err: (err as Error).message }, 'no DNS upstreams: non-mesh names will fail; pass --dns-upstream IP[:PORT]')
    return []
  }
}

function listenOrExplain(server: net.Server, host: string, port: number, what: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(explainListen(err, what, host, port, flag)))
    server.listen({ host, port }, () => resolve())
  })
}

function explainListen(err: Error, what: string, host: string, port: number, flag: string): Error {
  if (err instanceof NmError) return err
  const code = (err as NodeJS.ErrnoException).code
  const why = code === 'EADDRINUSE' ? 'the port is in use (another agent running?)' : code === 'EACCES' ? 'permission denied' : err.message
  return new NmError('NM_LISTEN_FAILED', `cannot listen for ${what} on ${host}:${port}: ${why}; choose another port with ${flag}`)
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref())
}
