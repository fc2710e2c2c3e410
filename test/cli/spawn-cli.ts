/**
 * Runs the built CLI (dist/cli/main.js) as a child process. Tests that use it need a build
 * first: `npm test` builds, or run `npx tsc -p . ; node scripts/copy-assets.js`.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'

export const BUILT_CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')

export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment is cleared of NODEMESH_* so the caller's shell cannot change the result. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODEMESH_')))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Lines of stderr without the final newline: a CLI error is exactly one of them. */
export function stderrLines(r: CliRun): string[] {
  return r.stderr.split('\n').filter((l) => l !== '')
}
