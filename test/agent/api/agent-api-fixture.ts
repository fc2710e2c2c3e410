/** The agent API on a real unix socket over a fresh embedded registry, as the API tests use it. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Test } from 'tap'
import type { AgentStatus } from '../../../agent/api/agent-status'
import { serveAgentApi } from '../../../agent/api/serve-agent-api'
import { createLogger } from '../../../agent/observe/logger'
import { EmbeddedStore } from '../../../registry/embedded-store'
import type { Endpoint } from '../../../registry/records'

export const log = createLogger('silent')
export const status: AgentStatus = { node: 'n1', registry: 'file:/x', revision: 3, connected: true, stalenessSeconds: 0, listeners: 2, version: '0.1.0' }

/** Serves node n1's API in a temporary directory, removed with everything else at teardown. */
export async function setupAgentApi(t: Test) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-api-'))
  const store = await EmbeddedStore.open(path.join(dir, 'registry.json'))
  const registered: Endpoint[] = []
  const deregistered: string[] = []
  // The running agent keeps its node's lease; endpoints registered through it hang on that lease.
  await store.heartbeat('n1', 60_000)
  const socketPath = path.join(dir, 'run', 'agent.sock')
  const server = await serveAgentApi({
    socketPath, store, node: 'n1', log, status: () => status,
    onRegistered: (ep) => registered.push(ep), onDeregistered: (svc, id) => deregistered.push(`${svc} ${id}`),
  })
  t.teardown(async () => { await server.close(); await store.close(); fs.rmSync(dir, { recursive: true, force: true }) })
  return { dir, store, server, socketPath, registered, deregistered }
}
