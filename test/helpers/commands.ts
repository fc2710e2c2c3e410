/** Real client programs (curl, dig) run as child processes. */
import { execFile } from 'node:child_process'

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export function run(cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

export interface CurlResult {
  status: number
  body: string
  headers: string
}

/** The arguments that make curl print the response head, then the body, to stdout. */
export const CURL_ARGS = ['-sS', '-D', '-', '-o', '-', '--max-time', '10'] as const

/** Splits what curl run with CURL_ARGS printed into status, response head and body. */
export function parseCurlOutput(stdout: string): CurlResult {
  const split = stdout.indexOf('\r\n\r\n')
  const headers = stdout.slice(0, split)
  const status = Number(/^HTTP\/\S+ (\d{3})/.exec(headers)?.[1] ?? 0)
  return { status, headers, body: stdout.slice(split + 4) }
}

/** curl printing the response head and body: status, head and body, parsed. */
export async function curl(args: readonly string[]): Promise<CurlResult> {
  const r = await run('curl', [...CURL_ARGS, ...args])
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return parseCurlOutput(r.stdout)
}

export async function dig(server: string, port: number, args: readonly string[]): Promise<Run> {
  return run('dig', [`@${server}`, '-p', String(port), '+time=3', '+tries=1', ...args])
}
