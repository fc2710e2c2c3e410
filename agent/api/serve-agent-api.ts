/**
 * Serves the agent's gRPC API on a unix socket: local registration and status for the CLI.
 * The socket is mode 0660 so the operator's group can use it and nobody else can.
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { shutdownGrpcServer } from './shutdown-grpc-server'
import { NmError } from '../../registry/errors'
import type { Endpoint } from '../../registry/records'
import type { RegistryStore } from '../../registry/store'
import type { Logger } from '../observe/logger'
import { createAgentApiHandlers, type AgentApiHandlers } from './agent-api-handlers'
import type { AgentStatus } from './agent-status'
import { toGrpcError } from './grpc-error-mapping'
import { agentServiceDefinition } from './load-agent-proto'

export interface AgentApiServer {
  readonly socketPath: string
  close(): Promise<void>
}

export interface ServeAgentApiOptions {
  readonly socketPath: string
  readonly store: RegistryStore
  readonly node: string
  readonly log: Logger
  readonly status: () => AgentStatus
  readonly onRegistered?: (ep: Endpoint) => void
  readonly onDeregistered?: (service: string, id: string) => void
}

export async function serveAgentApi(opts: ServeAgentApiOptions): Promise<AgentApiServer> {
  const { socketPath, log } = opts
  await prepareSocketPath(socketPath)
  const handlers = createAgentApiHandlers(opts)
  const server = new grpc.Server()
  const impl: grpc.UntypedServiceImplementation = {}
  for (const name of Object.keys(handlers) as (keyof AgentApiHandlers)[]) {
    const unary: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      const handler = handlers[name] as (req: unknown) => Promise<unknown>
      handler(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const reply = toGrpcError(err)
          if (reply.code === grpc.status.INTERNAL) log.error({ err, rpc: name }, 'agent API call failed')
          else log.debug({ rpc: name, error: reply.details }, 'agent API call refused')
          callback({ code: reply.code, details: reply.details, metadata: reply.metadata })
        },
      )
    }
    impl[name] = unary
  }
  server.addService(agentServiceDefinition(), impl)
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(new NmError('NM_LISTEN_FAILED', `cannot serve the agent API on ${socketPath}: ${err.message}`, { cause: err }))
      else resolve()
    })
  })
  fs.chmodSync(socketPath, 0o660)
  log.info({ socket: socketPath }, 'agent API listening')
  let closed = false
  return {
    socketPath,
    close: async () => {
      if (closed) return
      closed = true
      await shutdownGrpcServer(server)
      fs.rmSync(socketPath, { force: true })
    },
  }
}

/**
 * Creates the socket's directory and removes a socket left by a dead agent. A live agent on
 * the path, or a path that is not a socket, is refused rather than taken over.
 */
async function prepareSocketPath(socketPath: string): Promise<void> {
  try {
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o750 })
  } catch (err) {
    throw new NmError('NM_STATE_DIR', `cannot create ${path.dirname(socketPath)} for the agent API socket: ${(err as Error).message}`, { cause: err })
  }
  let stat: fs.Stats
  try { stat = fs.lstatSync(socketPath) } catch { return }
  if (!stat.isSocket()) {
    throw new NmError('NM_LISTEN_FAILED', `${socketPath} exists and is not a socket: remove it or choose another --api-socket`)
  }
  if (await someoneListens(socketPath)) {
    throw new NmError('NM_LISTEN_FAILED', `another agent is already serving ${socketPath}: stop it first, or choose another --api-socket`)
  }
  fs.rmSync(socketPath, { force: true })
}

function someoneListens(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
