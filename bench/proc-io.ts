/**
 * Read and write system calls of processes from /proc/PID/io (all threads, exited ones
 * included), to tell whether a data path moves its bytes in few large calls or many small
 * ones: the mean size of a call shows the batching of TLS records and socket writes.
 */
import fs from 'node:fs'

export interface IoCounters { readonly rchar: number; readonly wchar: number; readonly syscr: number; readonly syscw: number }

const ZERO: IoCounters = { rchar: 0, wchar: 0, syscr: 0, syscw: 0 }

export function ioCounters(pid: number): IoCounters {
  let text: string
  try { text = fs.readFileSync(`/proc/${pid}/io`, 'utf8') } catch { return ZERO }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0)
  return { rchar: field('rchar'), wchar: field('wchar'), syscr: field('syscr'), syscw: field('syscw') }
}

/** Mean KiB per read and per write call of one process between two readings (rchar/wchar also count files, negligible here). */
export interface CallSizes { readonly readKiB: number; readonly writeKiB: number }

export function callSizes(before: IoCounters, after: IoCounters): CallSizes {
  const per = (bytes: number, calls: number): number => (calls > 0 ? bytes / calls / 1024 : 0)
  return { readKiB: per(after.rchar - before.rchar, after.syscr - before.syscr), writeKiB: per(after.wchar - before.wchar, after.syscw - before.syscw) }
}
