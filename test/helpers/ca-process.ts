/** A real mesh CA for tests: `nodemesh ca init` and `nodemesh ca serve` as processes. */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { CLI, runCli, sleep } from './agent-process'
import { freePort } from './free-port'
import { canConnectIn, spawnIn } from './netns'

export interface TestCa {
  readonly dir: string
  readonly address: string
  readonly bundle: string
  /** A one-time join token for `node`. */
  joinToken(node: string): Promise<string>
  /** An offline node credential bundle for `node`, in a new directory. */
  issueNode(node: string): Promise<string>
  stop(): Promise<void>
}

/**
 * With `netns`, `ca serve` runs inside that network namespace (root only) on `host`:`port`
 * (default 127.0.0.1:15012), with its certificate naming `host`, and is probed from there.
 * The CA directory is a file tree, so `ca init`, tokens and bundles are made from here.
 */
export async function startCa(redisUrl: string, opts: { netns?: string; host?: string; port?: number } = {}): Promise<TestCa> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nm-ca-')), 'ca')
  const init = await runCli(['ca', 'init', '--dir', dir])
  if (init.code !== 0) throw new Error(`ca init failed: ${init.stderr}`)
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? (opts.netns !== undefined ? 15012 : await freePort())
  const serve = [CLI, '--redis', redisUrl, 'ca', 'serve', '--dir', dir, '--listen', `${host}:${port}`]
  const child: ChildProcess = opts.netns !== undefined
    ? spawnIn(opts.netns, process.execPath, [...serve, '--server-name', host])
    : spawn(process.execPath, serve, { stdio: ['ignore', 'pipe', 'pipe'] })
  const reachable = (): Promise<boolean> => opts.netns !== undefined ? canConnectIn(opts.netns, host, port) : canConnect(port)
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { output += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { output += d })
  const deadline = Date.now() + 15_000
  while (!(await reachable())) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ca serve did not start: ${output}`)
    await sleep(50)
  }
  return {
    dir,
    address: `${host}:${port}`,
    bundle: path.join(dir, 'ca.crt'),
    async joinToken(node) {
      const r = await runCli(['ca', 'node-token', node, '--dir', dir])
      const token = r.stdout.split('\n')[1]?.trim()
      if (r.code !== 0 || !token) throw new Error(`ca node-token failed: ${r.stderr}${r.stdout}`)
      return token
    },
    async issueNode(node) {
      const out = path.join(path.dirname(dir), `bundle-${node}`)
      const r = await runCli(['ca', 'issue-node', node, '--dir', dir, '--out', out])
      if (r.code !== 0) throw new Error(`ca issue-node failed: ${r.stderr}`)
      return out
    },
    async stop() {
      if (child.exitCode === null) await new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM') })
      fs.rmSync(path.dirname(dir), { recursive: true, force: true })
    },
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
