/** `ca serve` as one call: load the CA, open the registry, serve until closed. */
import { createLogger, type Logger } from '../agent/observe/logger'
import { openStore } from '../registry/open-store'
import { loadCaDir } from './ca-dir'
import { createIssuer } from './issuer'
import { storeLookup } from './registry-lookup'
import { serveCa, type CaServer } from './serve-ca'
import { defaultServerNames } from './server-names'

export interface RunCaServerOptions {
  readonly caDir: string
  /** redis://, rediss:// or file:PATH */
  readonly registry: string
  readonly listen: string
  /** Extra names for the server certificate, besides localhost, the host name and its addresses. */
  readonly serverNames: readonly string[]
  readonly workloadTtlMs?: number
  readonly nodeTtlMs?: number
  readonly log?: Logger
}

export async function runCaServer(opts: RunCaServerOptions): Promise<CaServer> {
  const log = opts.log ?? createLogger().child({ component: 'ca' })
  const ca = loadCaDir(opts.caDir)
  const store = await openStore(opts.registry, { role: 'agent', log })
  try {
    const issuer = createIssuer({
      ca, lookup: storeLookup(store), log,
      ...(opts.workloadTtlMs !== undefined ? { workloadTtlMs: opts.workloadTtlMs } : {}),
      ...(opts.nodeTtlMs !== undefined ? { nodeTtlMs: opts.nodeTtlMs } : {}),
    })
    const server = await serveCa({ ca, issuer, listen: opts.listen, serverNames: [...defaultServerNames(), ...opts.serverNames], log })
    return {
      port: server.port,
      close: async () => {
        await server.close()
        await store.close()
      },
    }
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
}
