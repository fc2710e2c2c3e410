import type * as grpc from '@grpc/grpc-js'

/** Lets in-flight calls finish for `graceMs`, then cuts what is left. */
export function shutdownGrpcServer(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => { server.forceShutdown(); resolve() }, graceMs)
    server.tryShutdown(() => { clearTimeout(timer); resolve() })
  })
}
