/**
 * Counts the TCP connections (so HTTP/2 sessions) accepted by the destination agent's tunnel
 * listener while a measurement runs: `ss` is sampled every half second and the distinct peer
 * ports seen are the sessions; a pool working as designed shows 1. The pool keeps an idle
 * session 30 s, far longer than the sampling interval, so none is missed.
 */
import { run } from './processes'
import type { HostPort } from './tunnel-arm'

const INTERVAL_MS = 500

export interface SessionWatch {
  /** Stops sampling; resolves with the number of distinct sessions seen. */
  stop(): Promise<number>
}

export async function established(listener: HostPort): Promise<string[]> {
  const r = await run('ss', ['-Htn', 'state', 'established', `( sport = :${listener.port} )`])
  if (r.code !== 0) return []
  const peers: string[] = []
  for (const line of r.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/)
    // Recv-Q Send-Q Local Peer (the state column is left out when filtered by state).
    if (cols.length >= 4 && cols[2] === `${listener.host}:${listener.port}`) peers.push(cols[3] as string)
  }
  return peers
}

export function watchSessions(listener: HostPort): SessionWatch {
  const seen = new Set<string>()
  let sampling = Promise.resolve()
  const sample = (): void => {
    sampling = sampling.then(async () => { for (const p of await established(listener)) seen.add(p) })
  }
  sample()
  const timer = setInterval(sample, INTERVAL_MS)
  return {
    async stop() {
      clearInterval(timer)
      sample()
      await sampling
      return seen.size
    },
  }
}
