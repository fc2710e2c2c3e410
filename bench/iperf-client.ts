/** One `iperf3 -c ... -J` run from the source host; the figures come from its JSON, nothing is scraped. */
import { run } from './processes'
import { SOURCE_HOST, type HostPort } from './tunnel-arm'

export interface IperfResult {
  /** Receiver side: what actually arrived at the iperf3 server. */
  readonly bitsPerSecond: number
  readonly bytes: number
  readonly seconds: number
  readonly retransmits: number
}

interface IperfJson {
  error?: string
  end?: {
    sum_received?: { bytes: number; seconds: number; bits_per_second: number }
    sum_sent?: { retransmits?: number }
  }
}

export async function runIperf(target: HostPort, durationS: number): Promise<IperfResult> {
  const args = ['-c', target.host, '-p', String(target.port), '-B', SOURCE_HOST, '-t', String(durationS), '-J']
  const res = await run('iperf3', args, process.env, (durationS + 30) * 1000)
  let j: IperfJson
  try { j = JSON.parse(res.stdout) as IperfJson } catch {
    throw new Error(`iperf3 ${args.join(' ')} printed no JSON (${res.code}): ${res.stderr || res.stdout}`)
  }
  const r = j.end?.sum_received
  if (j.error || res.code !== 0 || !r) throw new Error(`iperf3 ${args.join(' ')} failed (${res.code}): ${j.error ?? res.stderr}`)
  return { bitsPerSecond: r.bits_per_second, bytes: r.bytes, seconds: r.seconds, retransmits: j.end?.sum_sent?.retransmits ?? 0 }
}
