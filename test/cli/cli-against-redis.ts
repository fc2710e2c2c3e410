/**
 * The built CLI against a fresh redis-server, for tests of its commands: starts Redis and a
 * state directory (both removed at teardown) and gives `ok` (exits 0, returns stdout)
 * and `fails` (exits `code` with one stderr line matching `pattern`). Needs a build first.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Test } from 'tap'
import { haveRedisServer, startRedis, type TestRedis } from '../helpers/redis-server'
import { BUILT_CLI, runCli, stderrLines, type CliRun } from './spawn-cli'

if (!fs.existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: build first with \`npm run build\``)
if (!haveRedisServer()) throw new Error('redis-server is not installed: these tests need a real one')

export interface CliAgainstRedis {
  readonly redis: TestRedis
  ok(...args: string[]): Promise<string>
  fails(code: number, pattern: RegExp, ...args: string[]): Promise<CliRun>
}

export async function startCliAgainstRedis(t: Test, stateDirPrefix: string): Promise<CliAgainstRedis> {
  const redis = await startRedis()
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), stateDirPrefix))
  t.teardown(async () => { await redis.stop(); fs.rmSync(stateDir, { recursive: true, force: true }) })
  const cli = (...args: string[]): Promise<CliRun> => runCli(['--redis', redis.url, ...args], { NODEMESH_STATE_DIR: stateDir })
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(...args)
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const fails = async (code: number, pattern: RegExp, ...args: string[]): Promise<CliRun> => {
    const r = await cli(...args)
    t.equal(r.code, code, `${args.join(' ')} exits ${code}`)
    t.equal(stderrLines(r).length, 1, `${args.join(' ')}: one line`)
    t.match(r.stderr, pattern, args.join(' '))
    return r
  }
  return { redis, ok, fails }
}
