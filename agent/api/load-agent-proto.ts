/**
 * Loads agent.proto from next to this file: the build copies .proto files into dist, so the
 * same relative path works from source (ts-node) and from the compiled CLI.
 */
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

export const AGENT_PROTO_PATH = path.join(__dirname, 'agent.proto')

/**
 * Zero values are filled in on decode (defaults) so handlers never see undefined scalars;
 * proto3 `optional` fields stay absent when unset, which is how InitMesh tells "not given".
 */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }

let cached: grpc.ServiceDefinition | undefined

export function agentServiceDefinition(): grpc.ServiceDefinition {
  if (!cached) {
    const def = protoLoader.loadSync(AGENT_PROTO_PATH, LOADER_OPTIONS)
    cached = def['nodemesh.agent.v1.Agent'] as grpc.ServiceDefinition
  }
  return cached
}
