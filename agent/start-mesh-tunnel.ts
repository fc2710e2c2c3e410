/**
 * The mesh half of the agent: its identity (node credential and workload certificates from
 * the CA), the inbound tunnel listener, and the outbound tunnel pool. Without a configured
 * identity the agent still serves its own node; traffic to other nodes is refused with
 * NM_NO_IDENTITY. When the CA cannot be reached at start, this keeps retrying in the
 * background and enables the tunnel once it can.
 */
import type { Registry } from 'prom-client'
import { NmError } from '../registry/errors'
import type { Snapshot } from '../registry/snapshot'
import type { AgentOptions } from './agent-options'
import type { DataPlane } from './data-plane'
import { connectCaIssuer } from './identity/ca-issuer'
import { certsDebugView } from './identity/cert-metrics'
import { localIdentities } from './identity/local-identities'
import { localIssuer } from './identity/local-issuer'
import { startWorkloadCerts, type WorkloadCerts } from './identity/workload-certs'
import type { WorkloadIssuer } from './identity/workload-issuer'
import type { Logger } from './observe/logger'
import { parseHostPort } from './tunnel/plan-inbound'
import { registerTunnelMetrics } from './tunnel/tunnel-metrics'
import { createTunnelPool, type TunnelPool } from './tunnel/tunnel-pool'
import { startTunnelServer, type TunnelServer } from './tunnel/tunnel-server'

export interface MeshTunnel {
  /** Keeps the workload certificates in line with the local endpoints of a new snapshot. */
  onSnapshot(snapshot: Snapshot): void
  /** The /debug/certs view, or why there is none. */
  debugCerts(): unknown
  close(): Promise<void>
}

export interface MeshTunnelDeps {
  readonly log: Logger
  readonly registry: Registry
  readonly dataPlane: DataPlane
  /** The agent's own ports: never delivered to through the tunnel. */
  readonly agentPorts: readonly number[]
}

const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000]

export function startMeshTunnel(opts: AgentOptions, deps: MeshTunnelDeps): MeshTunnel {
  const { log, dataPlane } = deps
  if (opts.identity.kind === 'saved') {
    log.info('no mesh identity configured (--ca-dir, --join-token or --node-credential): serving this node only')
    return { onSnapshot: () => {}, debugCerts: () => ({ error: 'no mesh identity configured' }), close: async () => {} }
  }
  let certs: WorkloadCerts | undefined
  let pool: TunnelPool | undefined
  let server: TunnelServer | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let lastError = 'starting'

  registerTunnelMetrics(deps.registry, { server: () => server?.stats(), outboundSessions: () => pool?.sessions() })

  const start = async (attempt: number): Promise<void> => {
    try {
      const issuer = await makeIssuer(opts, dataPlane, log)
      const started = await startWorkloadCerts({ node: opts.node, trustDomain: issuer.trustDomain, stateDir: opts.stateDir, issuer, log, metrics: deps.registry })
      if (closed) return started.close()
      certs = started
      const snapshot = dataPlane.lastSnapshot()
      if (snapshot) {
        if (snapshot.mesh.trustDomain !== issuer.trustDomain) {
          log.error({ mesh: snapshot.mesh.trustDomain, ca: issuer.trustDomain }, 'NM_BAD_ARGUMENT: the CA signs for another trust domain than the mesh config; set them alike (`nodemesh mesh init --trust-domain`)')
        }
        certs.want(localIdentities(snapshot, opts.node))
      }
      const listen = parseHostPort(opts.tunnelAddress)
      if (!listen) throw new NmError('NM_BAD_ARGUMENT', `--tunnel-address ${opts.tunnelAddress} is not IP:PORT`)
      server = await startTunnelServer({
        address: listen.host, port: listen.port, certs, trustDomain: issuer.trustDomain, localNode: opts.node,
        agentPorts: deps.agentPorts, table: () => dataPlane.table(), onDeliver: (d) => dataPlane.acceptTunnel(d), log,
      })
      pool = createTunnelPool({ certs, trustDomain: issuer.trustDomain, log })
      const p = pool
      dataPlane.enableTunnel((route) => p.open(route))
      log.info({ tunnel: opts.tunnelAddress, identity: certs.nodeIdentity() }, 'mesh tunnel up')
    } catch (err) {
      lastError = (err as Error).message
      if (closed) return
      const wait = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] as number
      log.error({ err: lastError, retryInMs: wait }, 'mesh identity or tunnel not available; traffic to other nodes is refused until it is')
      timer = setTimeout(() => void start(attempt + 1), wait)
    }
  }
  void start(0)

  return {
    onSnapshot: (snapshot) => certs?.want(localIdentities(snapshot, opts.node)),
    debugCerts: () => (certs ? certsDebugView(certs) : { error: lastError }),
    close: async () => {
      closed = true
      if (timer) clearTimeout(timer)
      dataPlane.enableTunnel(undefined)
      await pool?.close()
      await server?.close()
      certs?.close()
    },
  }
}

function makeIssuer(opts: AgentOptions, dataPlane: DataPlane, log: Logger): Promise<WorkloadIssuer> {
  const id = opts.identity
  switch (id.kind) {
    case 'ca-dir':
      return Promise.resolve(localIssuer({
        caDir: id.caDir, node: opts.node, log,
        lookup: {
          snapshot: async () => {
            const s = dataPlane.lastSnapshot()
            if (!s) throw new NmError('NM_REGISTRY_UNREACHABLE', 'no registry snapshot loaded yet')
            return s
          },
        },
      }))
    case 'node-credential':
      return connectCaIssuer({ node: opts.node, stateDir: opts.stateDir, caAddress: id.caAddress, nodeCredentialDir: id.dir, log })
    case 'join-token':
      return connectCaIssuer({ node: opts.node, stateDir: opts.stateDir, caAddress: id.caAddress, joinToken: id.token, caBundleFile: id.caBundle, log })
    case 'saved':
      throw new NmError('NM_INTERNAL', 'no identity source')
  }
}
