/** CPU time of processes from /proc (utime + stime, all threads), in clock ticks. */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

let clkTck: number | undefined

/** Ticks per second (`getconf CLK_TCK`; 100 on every Linux seen in practice). */
export function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    clkTck = Number.isFinite(n) && n > 0 ? n : 100
  }
  return clkTck
}

interface ProcStat { ppid: number; ticks: number }

function readStat(pid: number): ProcStat | undefined {
  let text: string
  try { text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) }
}

/** utime + stime summed over pids; a pid that is gone counts 0. */
export function cpuTicks(pids: readonly number[]): number {
  let sum = 0
  for (const pid of pids) sum += readStat(pid)?.ticks ?? 0
  return sum
}

/** Direct children of a process (nginx workers of their master). */
export function childPids(parent: number): number[] {
  const out: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const st = readStat(Number(name))
    if (st?.ppid === parent) out.push(Number(name))
  }
  return out
}

/**
 * Busy time of the whole machine from /proc/stat, in clock ticks: user, nice, system, irq and
 * softirq over all CPUs (idle, iowait and steal left out). It counts what no process list
 * catches: the kernel's network work done in softirq, and the clients and backends themselves.
 */
export function machineBusyTicks(): number {
  const first = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  const f = first.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = f
  return user + nice + system + irq + softirq
}

export function ticksToMicros(ticks: number): number {
  return (ticks * 1e6) / ticksPerSecond()
}
