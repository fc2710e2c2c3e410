/**
 * Starts a real redis-server on a free loopback port for a test, so tests can also kill and
 * restart it. No persistence: a restarted server is empty unless `keepData` is used.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './free-port'

export interface TestRedis {
  readonly port: number
  readonly url: string
  /** SIGKILL the server (as a crash would). */
  kill(): Promise<void>
  /** Start it again on the same port. With `keepData`, from the RDB written by `save()`. */
  start(): Promise<void>
  /** Write the dataset to disk (SAVE) so a restart can bring it back. */
  save(): Promise<void>
  stop(): Promise<void>
}

export function haveRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-redis-'))
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--dbfilename', 'dump.rdb', '--loglevel', 'warning',
    ], { stdio: 'ignore' })
    await waitForPort(port, 5000)
  }
  await start()
  const kill = async (): Promise<void> => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL') })
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    save: () => redisCommand(port, 'SAVE').then(() => undefined),
    stop: async () => { await kill(); fs.rmSync(dir, { recursive: true, force: true }) },
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try { await redisCommand(port, 'PING'); return } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${port}: ${String(err)}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
}

/** One inline command over a raw socket: used only to probe the server, never by the code under test. */
function redisCommand(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    let out = ''
    s.setEncoding('utf8')
    s.on('connect', () => s.write(`${cmd}\r\n`))
    s.on('data', (d) => { out += d; if (out.endsWith('\r\n')) { s.destroy(); out.startsWith('-') ? reject(new Error(out)) : resolve(out) } })
    s.on('error', reject)
  })
}
