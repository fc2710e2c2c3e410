/**
 * One measurement of one arm: wrk at N connections while sampling the proxy's CPU time, then
 * wrk at one connection for latency. wrk prints its own summary as JSON through a Lua `done`
 * hook, so nothing is scraped from its human-readable output.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Arm } from './arm'
import { cpuTicks, ticksToMicros } from './proc-cpu'
import { makeTempDir, run } from './processes'

export interface WrkResult {
  readonly requests: number
  readonly durationUs: number
  readonly rps: number
  readonly p50Us: number
  readonly p99Us: number
  /** Socket errors plus non-2xx/3xx responses. */
  readonly errors: number
}

export interface Sample {
  readonly round: number
  readonly rps: number
  /** Proxy CPU time per completed request in the throughput run; null for the direct arm. */
  readonly cpuUsPerReq: number | null
  /** Proxy CPU use during the throughput run, in % of one core. */
  readonly cpuPct: number | null
  /** Backend CPU time per request, to show the backend is not what limits. */
  readonly backendCpuUsPerReq: number
  readonly p50Us: number
  readonly p99Us: number
  readonly loadedP99Us: number
  readonly errors: number
}

const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nWRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`

let hookFile: string | undefined

function doneHook(): string {
  // Made again if a previous suite's cleanup removed it.
  if (!hookFile || !fs.existsSync(hookFile)) {
    hookFile = path.join(makeTempDir('nm-bench-wrk-'), 'done.lua')
    fs.writeFileSync(hookFile, DONE_HOOK)
  }
  return hookFile
}

export async function runWrk(url: string, connections: number, durationS: number): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--latency', '-s', doneHook(), url]
  const res = await run('wrk', args, process.env, (durationS + 30) * 1000)
  const line = res.stdout.split('\n').find((l) => l.startsWith('WRK_JSON '))
  if (res.code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (${res.code}): ${res.stderr || res.stdout}`)
  const j = JSON.parse(line.slice('WRK_JSON '.length)) as { requests: number; duration_us: number; p50_us: number; p99_us: number; errors: number }
  return { requests: j.requests, durationUs: j.duration_us, rps: j.requests / (j.duration_us / 1e6), p50Us: j.p50_us, p99Us: j.p99_us, errors: j.errors }
}

export interface MeasureSettings {
  readonly connections: number
  readonly durationS: number
  readonly backendPids: () => number[]
}

export async function measureArm(arm: Arm, round: number, s: MeasureSettings): Promise<Sample> {
  const pids = arm.proxyPids()
  const backendPids = s.backendPids()
  const before = cpuTicks(pids)
  const backendBefore = cpuTicks(backendPids)
  const load = await runWrk(arm.url, s.connections, s.durationS)
  const proxyUs = ticksToMicros(cpuTicks(pids) - before)
  const backendUs = ticksToMicros(cpuTicks(backendPids) - backendBefore)
  const single = await runWrk(arm.url, 1, s.durationS)
  const done = Math.max(load.requests, 1)
  return {
    round,
    rps: load.rps,
    cpuUsPerReq: pids.length > 0 ? proxyUs / done : null,
    cpuPct: pids.length > 0 ? (100 * proxyUs) / load.durationUs : null,
    backendCpuUsPerReq: backendUs / done,
    p50Us: single.p50Us,
    p99Us: single.p99Us,
    loadedP99Us: load.p99Us,
    errors: load.errors + single.errors,
  }
}
