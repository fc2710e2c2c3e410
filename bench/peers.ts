/**
 * The peer arms: wrk straight at the backend, HAProxy and nginx as reverse proxies. Each is
 * set up the way an operator tuning for a single core would: one thread or worker, pooled
 * keep-alive connections to the backend, no logging.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Arm, Skipped } from './arm'
import { startNginx } from './nginx-process'
import { freePort, makeTempDir, run, startProcess, waitForPort, which } from './processes'

export function directArm(backendPort: number): Arm {
  return { name: 'direct', url: `http://127.0.0.1:${backendPort}/`, proxyPids: () => [], describe: 'wrk straight at the backend', procs: [] }
}

export async function startHaproxyArm(backendPort: number): Promise<Arm | Skipped> {
  const haproxy = which('haproxy')
  if (!haproxy) return { name: 'haproxy', reason: 'haproxy is not installed (apt-get install -y haproxy)' }
  const port = await freePort()
  const dir = makeTempDir('nm-bench-haproxy-')
  const conf = path.join(dir, 'haproxy.cfg')
  // No `log` lines anywhere: HAProxy then logs nothing.
  fs.writeFileSync(conf, `
global
  nbthread 1
  maxconn 4096
  tune.bufsize 16384

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s

frontend bench
  bind 127.0.0.1:${port}
  default_backend backend

backend backend
  server b1 127.0.0.1:${backendPort}
`)
  const check = await run(haproxy, ['-c', '-q', '-f', conf])
  if (check.code !== 0) throw new Error(`haproxy rejected its config: ${check.stderr || check.stdout}`)
  // -db: foreground, one process, so the pid we hold is the one doing the work.
  const proc = startProcess('haproxy', haproxy, ['-db', '-q', '-f', conf])
  await waitForPort(proc, '127.0.0.1', port)
  const version = (await run(haproxy, ['-v'])).stdout.split('\n')[0]?.replace(/ - https.*$/, '') ?? 'haproxy'
  return { name: 'haproxy', url: `http://127.0.0.1:${port}/`, proxyPids: () => [proc.pid], procs: [proc], describe: `${version}, nbthread 1, http-reuse always` }
}

export async function startNginxArm(backendPort: number): Promise<Arm | Skipped> {
  const nginx = which('nginx')
  if (!nginx) return { name: 'nginx', reason: 'nginx is not installed (apt-get install -y nginx-light)' }
  const port = await freePort()
  const instance = await startNginx('nginx-proxy', nginx, port, `
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 64;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`)
  const version = (await run(nginx, ['-v'])).stderr.trim().replace(/^nginx version: /, '')
  return { name: 'nginx', url: `http://127.0.0.1:${port}/`, proxyPids: instance.workerPids, procs: [instance.proc], describe: `${version}, 1 worker, upstream keepalive 64` }
}
