/**
 * The backend every arm forwards to: nginx, one worker, a fixed 2-byte body straight from
 * config (no file I/O), so that it is far cheaper than any proxy in front of it.
 */
import { startNginx, type NginxInstance } from './nginx-process'
import { freePort, which } from './processes'

export async function startBackend(): Promise<NginxInstance> {
  const nginx = which('nginx')
  if (!nginx) throw new Error('nginx is needed for the backend (apt-get install -y nginx-light)')
  const port = await freePort()
  return startNginx('backend', nginx, port, `
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      default_type text/plain;
      return 200 "ok";
    }
  }`)
}
