/**
 * Loads ca.proto. The build copies .proto files next to the compiled code; when this file
 * runs from dist and the copy is missing, the source copy two levels up is used.
 */
import fs from 'node:fs'
import path from 'node:path'
import type * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }

export function caProtoPath(): string {
  const beside = path.join(__dirname, 'ca.proto')
  if (fs.existsSync(beside)) return beside
  return path.join(__dirname, '..', '..', 'ca', 'ca.proto')
}

let cached: grpc.ServiceDefinition | undefined

export function caServiceDefinition(): grpc.ServiceDefinition {
  if (!cached) {
    const def = protoLoader.loadSync(caProtoPath(), LOADER_OPTIONS)
    cached = def['nodemesh.ca.v1.MeshCa'] as grpc.ServiceDefinition
  }
  return cached
}
