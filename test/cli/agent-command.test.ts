/**
 * `nodemesh agent` as operators run it: the built CLI as a process. Needs a build first
 * (`npm test` builds; or `npx tsc -p . ; node scripts/copy-assets.js`).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort } from '../helpers/free-port'
import { BUILT_CLI, runCli, stderrLines } from './spawn-cli'

if (!fs.existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: build first with \`npm run build\``)

async function portFlags(): Promise<string[]> {
  const flags = ['--dns-port', '--http-proxy-port', '--admin-port', '--metrics-port', '--ready-port']
  const out: string[] = []
  for (const f of flags) out.push(f, String(await freePort()))
  return [...out, '--observe-address', '127.0.0.1']
}

t.test('a startup error is one line on stderr and exit 1', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-agent-cmd-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'a-file')
  fs.writeFileSync(file, '')
  const r = await runCli(['agent', '--node', 'n1', '--state-dir', path.join(file, 'state'), ...await portFlags()])
  t.equal(r.code, 1)
  t.match(stderrLines(r), [/^nodemesh: NM_STATE_DIR: cannot use state directory .*a-file\/state/])
})

t.test('runs until SIGTERM, serves its API, exits 0 and removes its socket', async (t) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-agent-cmd-'))
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODEMESH_')))
  const child = spawn(process.execPath, [BUILT_CLI, 'agent', '--node', 'n-cmd', '--state-dir', stateDir, '--log-level', 'warn', ...await portFlags()],
    { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited }
    fs.rmSync(stateDir, { recursive: true, force: true })
  })

  const socket = path.join(stateDir, 'agent.sock')
  const deadline = Date.now() + 20_000
  while (!fs.existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the agent did not open ${socket}: ${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const st = await runCli(['status', '-o', 'json'], { NODEMESH_STATE_DIR: stateDir })
  t.equal(st.code, 0, st.stderr)
  const status = JSON.parse(st.stdout) as { node: string; registry: string }
  t.equal(status.node, 'n-cmd')
  t.equal(status.registry, `file:${path.join(stateDir, 'registry.json')}`, 'the embedded registry in the state dir by default')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'clean exit')
  t.equal(stderr, '', 'nothing on stderr')
  t.notOk(fs.existsSync(socket), 'socket removed')
})
