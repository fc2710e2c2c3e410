/**
 * nginx in its own temp prefix with one worker, in the foreground, logging only errors to a
 * file there; used both as the backend and as the reverse-proxy peer.
 */
import fs from 'node:fs'
import path from 'node:path'
import { childPids } from './proc-cpu'
import { makeTempDir, startProcess, waitForPort, type Managed } from './processes'

export interface NginxInstance {
  readonly proc: Managed
  readonly port: number
  /** Worker pids (children of the master), looked up now. */
  workerPids(): number[]
}

/**
 * `servers` is the inside of the `http {}` block, minus the common settings written here;
 * `host` is where one of its servers listens on `port`, to wait for.
 */
export async function startNginx(name: string, nginxPath: string, port: number, servers: string, host = '127.0.0.1'): Promise<NginxInstance> {
  const prefix = makeTempDir(`nm-bench-${name}-`)
  fs.mkdirSync(path.join(prefix, 'tmp'))
  const conf = path.join(prefix, 'nginx.conf')
  fs.writeFileSync(conf, `
worker_processes 1;
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  # Long-lived connections everywhere: no arm should pay for reconnects the others skip.
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
${servers}
}
`)
  // -e: the compiled-in error log is opened before the config is read.
  const proc = startProcess(name, nginxPath, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')])
  await waitForPort(proc, host, port)
  return { proc, port, workerPids: () => childPids(proc.pid) }
}
