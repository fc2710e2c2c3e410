/**
 * The built CLI's argument handling and unreachable backends. Needs a build first
 * (`npm test` builds; or `npx tsc -p . ; node scripts/copy-assets.js`).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort } from '../helpers/free-port'
import { BUILT_CLI, runCli, stderrLines } from './spawn-cli'

if (!fs.existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: build first with \`npm run build\``)

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-cli-'))
t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }))
const env = { NODEMESH_STATE_DIR: stateDir }

t.test('bad arguments: one line on stderr, exit 2, nothing on stdout', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /unknown command 'bogus'/],
    [['services', '--frob'], /unknown option '--frob'/],
    [['services', '-o', 'xml'], /-o "xml" must be one of table, json, yaml/],
    [['service', 'create', 'web'], /at least one --port/],
    [['service', 'create', 'web', '--port', '80/htp'], /protocol "htp"/],
    [['service', 'create', 'web', '--port', '70000/tcp'], /1\.\.65535/],
    [['service', 'create', 'Web', '--port', '80/http'], /service name "Web" must be a DNS label/],
    [['register', 'web', '--port', '80'], /required option '--address <ip>' not specified/],
    [['register', 'web', '--address', '10.0.0.300', '--port', '80'], /--address "10\.0\.0\.300" is not an IP address/],
    [['register', 'web', '--address', '10.0.0.3', '--port', '80', '--weight', '0'], /--weight "0"/],
    [['register', 'web', '--address', '10.0.0.3', '--port', '80', '--label', 'oops'], /--label "oops" must be KEY=VALUE/],
    [['mesh', 'init', '--vip-cidr', '10.0.0.1/16'], /did you mean 10\.0\.0\.0\/16\?/],
    [['mesh', 'init', '--vip-cidr', 'ten'], /not an IPv4 CIDR/],
    [['endpoints'], /missing required argument 'service'/],
    [['deregister', 'web', 'ep-1', 'extra'], /too many arguments/],
    [['agent', '--dns-port', 'many'], /--dns-port "many"/],
    [['agent', '--redis', 'redis://r:6379', '--registry', 'file:/tmp/x.json'], /not both/],
    [['--redis', 'http://127.0.0.1:6379', 'services'], /"http:" URLs are not supported/],
    [['service'], /a command is missing/],
    [['services', '--namespace', 'Shop'], /--namespace "Shop" must be a DNS label/],
    // Checked before any connection: the closed port would otherwise give exit 1.
    [['--redis', 'redis://127.0.0.1:1', 'register', 'web', '--address', '10.0.0.1', '--port', '80'], /with --redis, register needs --node NODE/],
  ]
  // Independent processes: run them side by side to keep the test quick.
  const runs = await Promise.all(cases.map(([args]) => runCli(args, env)))
  cases.forEach(([args, message], i) => {
    const r = runs[i]!
    const label = args.join(' ')
    t.equal(r.code, 2, `${label}: exit 2`)
    const lines = stderrLines(r)
    t.equal(lines.length, 1, `${label}: one line (${r.stderr})`)
    t.match(lines[0], /^nodemesh: NM_BAD_ARGUMENT: /, label)
    t.match(lines[0], message, label)
    t.equal(r.stdout, '', `${label}: nothing on stdout`)
  })
})

t.test('help and version succeed', async (t) => {
  const help = await runCli(['--help'], env)
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: nodemesh/)
  const sub = await runCli(['service', 'create', '--help'], env)
  t.equal(sub.code, 0)
  t.match(sub.stdout, /--port <spec>/)
  const version = await runCli(['--version'], env)
  t.equal(version.code, 0)
  t.match(version.stdout, /^\d+\.\d+\.\d+/)
})

t.test('unreachable Redis: one line, exit 1', async (t) => {
  const port = await freePort()
  for (const args of [['services'], ['service', 'create', 'web', '--port', '80/http']]) {
    const r = await runCli(['--redis', `redis://127.0.0.1:${port}`, ...args], env)
    t.equal(r.code, 1, args.join(' '))
    const lines = stderrLines(r)
    t.equal(lines.length, 1, r.stderr)
    t.match(lines[0], /^nodemesh: NM_REGISTRY_UNREACHABLE: /)
  }
  const fromEnv = await runCli(['services'], { ...env, NODEMESH_REDIS_URL: `redis://127.0.0.1:${port}` })
  t.equal(fromEnv.code, 1, 'NODEMESH_REDIS_URL is used too')
  t.match(fromEnv.stderr, /NM_REGISTRY_UNREACHABLE/)
})

t.test('no agent on the socket: one line, exit 1', async (t) => {
  for (const args of [['services'], ['status'], ['endpoints', 'web'], ['register', 'web', '--address', '10.0.0.1', '--port', '80']]) {
    const r = await runCli(args, env)
    t.equal(r.code, 1, args.join(' '))
    const lines = stderrLines(r)
    t.equal(lines.length, 1, r.stderr)
    t.equal(lines[0], `nodemesh: NM_AGENT_UNREACHABLE: no agent is listening on ${path.join(stateDir, 'agent.sock')}: start one with \`nodemesh agent\`, or point the CLI at the registry with --redis URL`)
  }
  const other = path.join(stateDir, 'elsewhere.sock')
  const r = await runCli(['--api-socket', other, 'services'], env)
  t.match(r.stderr, `no agent is listening on ${other}`, '--api-socket overrides the state dir')
})
