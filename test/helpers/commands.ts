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

/** curl with `-w` appending the status code on its own last line. */
export async function curl(args: readonly string[]): Promise<{ status: number; body: string; headers: string }> {
  const r = await run('curl', ['-sS', '-D', '-', '-o', '-', '--max-time', '10', ...args])
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  const split = r.stdout.indexOf('\r\n\r\n')
  const headers = r.stdout.slice(0, split)
  const status = Number(/^HTTP\/\S+ (\d{3})/.exec(headers)?.[1] ?? 0)
  return { status, headers, body: r.stdout.slice(split + 4) }
}

export async function dig(server: string, port: number, args: readonly string[]): Promise<Run> {
  return run('dig', [`@${server}`, '-p', String(port), '+time=3', '+tries=1', ...args])
}
