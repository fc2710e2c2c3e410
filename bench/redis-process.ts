/** A throwaway redis-server on a free loopback port, no persistence: the registry both agents share. */
import { freePort, startProcess, waitForPort, which, type Managed } from './processes'

export interface RedisInstance {
  readonly url: string
  readonly proc: Managed
}

export async function startRedis(): Promise<RedisInstance> {
  const server = which('redis-server')
  if (!server) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
  const port = await freePort()
  const proc = startProcess('redis-server', server, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'])
  await waitForPort(proc, '127.0.0.1', port)
  return { url: `redis://127.0.0.1:${port}`, proc }
}
