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
import { runIn, spawnIn } from './netns'

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

/**
 * With `netns`, the server runs inside that network namespace (root only) on `host`:`port`
 * (default 127.0.0.1:6379, free in a namespace of its own), and is probed from there.
 */
export async function startRedis(opts: { netns?: string; host?: string; port?: number } = {}): Promise<TestRedis> {
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? (opts.netns !== undefined ? 6379 : await freePort())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-redis-'))
  const command = (cmd: string): Promise<string> => opts.netns !== undefined ? redisCommandIn(opts.netns, host, port, cmd) : redisCommand(port, cmd)
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const args = [
      '--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no',
      '--dir', dir, '--dbfilename', 'dump.rdb', '--loglevel', 'warning',
      // Agents in other namespaces connect from non-loopback addresses, which protected mode
      // refuses; the namespace is reachable only from the namespaces the test made.
      ...(opts.netns !== undefined ? ['--protected-mode', 'no'] : []),
    ]
    child = opts.netns !== undefined ? spawnIn(opts.netns, 'redis-server', args) : spawn('redis-server', args, { stdio: 'ignore' })
    // Drained, as 'ignore' would, so the server never blocks on a full pipe.
    child.stdout?.resume()
    child.stderr?.resume()
    await waitForPort(command, port, 5000)
  }
  await start()
  const kill = async (): Promise<void> => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL') })
  }
  return {
    port,
    url: `redis://${host}:${port}`,
    kill,
    start,
    save: () => command('SAVE').then(() => undefined),
    stop: async () => { await kill(); fs.rmSync(dir, { recursive: true, force: true }) },
  }
}

async function waitForPort(command: (cmd: string) => Promise<string>, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try { await command('PING'); return } catch (err) {
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

/** The same probe from inside a network namespace, with redis-cli (shipped with redis-server). */
async function redisCommandIn(ns: string, host: string, port: number, cmd: string): Promise<string> {
  const r = await runIn(ns, 'redis-cli', ['-h', host, '-p', String(port), cmd], 5000)
  // Without a terminal redis-cli prints an error reply bare, as `CODE message` (ERR, DENIED, ...).
  if (r.code !== 0 || /^[A-Z]+ /.test(r.stdout) || r.stderr.includes('Could not connect')) throw new Error(`${cmd}: ${r.stdout}${r.stderr}`)
  return r.stdout
}
