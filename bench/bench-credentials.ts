/**
 * Certificates for the benchmark's TLS peers, made the way an operator would: `nodemesh ca
 * init` for a throwaway CA, then `nodemesh ca issue-node` for each side, so every TLS arm uses
 * the same kind of keys (RSA 2048) and certificates as the agents.
 */
import path from 'node:path'
import { makeTempDir, run } from './processes'

export const CLI = path.join(__dirname, '..', 'cli', 'main.js')

/** A temporary directory with one credentials directory (node.crt, node.key, ca.crt) per name, at `dir/NAME`. */
export async function makeNodeCredentials(prefix: string, names: readonly string[]): Promise<string> {
  const dir = makeTempDir(prefix)
  const cli = async (args: string[]): Promise<void> => {
    const r = await run(process.execPath, [CLI, ...args])
    if (r.code !== 0) throw new Error(`nodemesh ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
  }
  const caDir = path.join(dir, 'ca')
  await cli(['ca', 'init', '--dir', caDir])
  for (const name of names) await cli(['ca', 'issue-node', `bench-${name}`, '--dir', caDir, '--out', path.join(dir, name)])
  return dir
}
