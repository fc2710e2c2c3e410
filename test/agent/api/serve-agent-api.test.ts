/**
 * The agent API on a real unix socket over a real embedded registry, called by the client and
 * by the built CLI (`--state-dir`). The CLI cases need a build first (`npm test` builds; or
 * `npx tsc -p . ; node scripts/copy-assets.js`).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { EmbeddedStore } from '../../../registry/embedded-store'
import { openStore } from '../../../registry/open-store'
import { startRedis } from '../../helpers/redis-server'
import { connectAgentApi } from '../../../agent/api/agent-api-client'
import { serveAgentApi, type AgentApiServer } from '../../../agent/api/serve-agent-api'
import { BUILT_CLI, runCli, stderrLines } from '../../cli/spawn-cli'
import { log, setupAgentApi, status } from './agent-api-fixture'

if (!fs.existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: build first with \`npm run build\``)

t.test('the CLI through the agent', async (t) => {
  const { dir, socketPath, registered, deregistered } = await setupAgentApi(t)
  const stateDir = path.dirname(socketPath)
  t.equal(fs.statSync(socketPath).mode & 0o777, 0o660, 'socket mode 0660')
  const cli = (...args: string[]) => runCli(args, { NODEMESH_STATE_DIR: stateDir })

  const created = await cli('service', 'create', 'web', '--port', '80/http', '--port', '9000/tcp')
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^service web\.default created, VIP 127\.77\.\d+\.\d+, ports 80\/http, 9000\/tcp\n$/)

  const reg = await cli('register', 'web', '--address', '127.0.0.1', '--port', '80=8080', '--port', '9000=9001', '--label', 'v=1')
  t.equal(reg.code, 0, reg.stderr)
  const id = reg.stdout.trim()
  t.equal(registered.length, 1, 'the agent is told what it registered')
  t.equal(registered[0]?.id, id)

  const eps = JSON.parse((await cli('endpoints', 'web', '-o', 'json')).stdout) as Array<{ id: string; node: string; lease: string | null; ports: object; labels: object }>
  t.same(eps.map((e) => [e.id, e.node, e.lease, e.ports, e.labels]), [[id, 'n1', 'n1', { 80: 8080, 9000: 9001 }, { v: '1' }]],
    'node and lease are the agent\'s')

  const services = JSON.parse((await cli('services', '-o', 'json')).stdout) as Array<{ name: string; vip: string }>
  t.same(services.map((s) => s.name), ['web'])

  const other = await cli('register', 'web', '--address', '127.0.0.2', '--port', '80=1', '--port', '9000=2', '--node', 'n2')
  t.equal(other.code, 2, 'another node is refused')
  t.match(stderrLines(other), [/^nodemesh: NM_BAD_ARGUMENT: this agent registers endpoints on node n1 only/])

  const missing = await cli('deregister', 'web', 'ep-nope')
  t.equal(missing.code, 1)
  t.match(stderrLines(missing), [/^nodemesh: NM_NOT_FOUND: service default\/web has no endpoint ep-nope/], 'NOT_FOUND comes back as NM_NOT_FOUND')
  const noService = await cli('endpoints', 'nope')
  t.equal(noService.code, 1)
  t.match(noService.stderr, /^nodemesh: NM_NOT_FOUND: service default\/nope does not exist/)
  const twice = await cli('service', 'create', 'web', '--port', '80/http')
  t.equal(twice.code, 1)
  t.match(twice.stderr, /^nodemesh: NM_ALREADY_EXISTS: /)
  const badMesh = await cli('mesh', 'init', '--vip-cidr', '10.0.0.0/16')
  t.not(badMesh.code, 0, 'the store refuses to move the VIP CIDR under existing services')
  t.equal(stderrLines(badMesh).length, 1)

  const st = await cli('status', '-o', 'json')
  t.equal(st.code, 0, st.stderr)
  t.same(JSON.parse(st.stdout), status)
  t.match((await cli('mesh', 'show', '-o', 'json')).stdout, /"vipCidr": "127\.77\.0\.0\/16"/)

  const dereg = await cli('deregister', 'web', id)
  t.equal(dereg.code, 0, dereg.stderr)
  t.same(deregistered, [`default/web ${id}`])
  t.same(JSON.parse((await cli('endpoints', 'web', '-o', 'json')).stdout), [])
  t.equal((await cli('service', 'delete', 'web')).code, 0)
  t.same(JSON.parse((await cli('services', '-o', 'json')).stdout), [])
  t.ok(fs.existsSync(path.join(dir, 'registry.json')), 'the embedded registry was written')
})

t.test('the client maps errors back into NmError', async (t) => {
  const { socketPath, store } = await setupAgentApi(t)
  const client = connectAgentApi(socketPath)
  t.teardown(() => client.close())
  await t.rejects(client.listEndpoints('default/nope'), { code: 'NM_NOT_FOUND' })
  await t.rejects(client.createService({ name: 'web', namespace: 'default', ports: [] }), { code: 'NM_BAD_ARGUMENT' })
  const svc = await client.createService({ name: 'web', namespace: 'default', ports: [{ name: 'http-80', port: 80, protocol: 'http' }] })
  t.equal(svc.name, 'web')
  await t.rejects(client.createService({ name: 'web', namespace: 'default', ports: svc.ports }), { code: 'NM_ALREADY_EXISTS' })
  const ep = await client.registerEndpoint({ service: 'web', address: '10.0.0.1', ports: { 80: 8080 } })
  t.equal(ep.lease, 'n1')
  t.same((await client.listEndpoints('default/web')).map((e) => e.id), [ep.id])
  // An endpoint of another node, written straight into the registry, is not this agent's to remove.
  const foreign = await store.registerEndpoint({ service: 'default/web', node: 'n2', address: '10.0.0.2', ports: { 80: 1 } })
  await t.rejects(client.deregisterEndpoint('web', foreign.id), { code: 'NM_BAD_ARGUMENT' })
  const mesh = await client.initMesh({ trustDomain: 'example.org' })
  t.same(mesh, { vipCidr: '127.77.0.0/16', trustDomain: 'example.org', defaultDeny: false }, 'unset fields keep their value')
})

t.test('the socket path: stale socket replaced, live one and non-socket refused, removed on close', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-sock-'))
  const store = await EmbeddedStore.open(path.join(dir, 'registry.json'))
  t.teardown(async () => { await store.close(); fs.rmSync(dir, { recursive: true, force: true }) })
  const socketPath = path.join(dir, 'agent.sock')
  const serve = () => serveAgentApi({ socketPath, store, node: 'n1', log, status: () => status })

  // A process killed while listening leaves its socket file behind.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] })
  await new Promise((resolve) => child.stdout.once('data', resolve))
  await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL') })
  t.ok(fs.lstatSync(socketPath).isSocket(), 'stale socket left behind')

  let server: AgentApiServer | undefined = await serve()
  const client = connectAgentApi(socketPath)
  t.equal((await client.getStatus()).node, 'n1', 'serving on the stale path')
  await t.rejects(serve(), { code: 'NM_LISTEN_FAILED', message: /another agent is already serving/ })
  t.equal((await client.getStatus()).revision, 3, 'the live server is untouched')
  await client.close()
  await server.close()
  server = undefined
  t.notOk(fs.existsSync(socketPath), 'socket removed on close')

  fs.writeFileSync(socketPath, 'not a socket')
  await t.rejects(serve(), { code: 'NM_LISTEN_FAILED', message: /is not a socket/ })
  t.equal(fs.readFileSync(socketPath, 'utf8'), 'not a socket', 'a regular file is never deleted')
})

t.test('a registry outage comes back as NM_REGISTRY_UNREACHABLE, not as a missing agent', async (t) => {
  const redis = await startRedis()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-api-redis-'))
  const store = await openStore(redis.url, { role: 'agent' })
  const socketPath = path.join(dir, 'agent.sock')
  const server = await serveAgentApi({ socketPath, store, node: 'n1', log, status: () => status })
  const client = connectAgentApi(socketPath)
  t.teardown(async () => {
    await client.close(); await server.close(); await store.close(); await redis.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  await client.createService({ name: 'web', namespace: 'default', ports: [{ name: 'http-80', port: 80, protocol: 'http' }] })
  t.same((await client.listServices()).map((s) => s.name), ['web'])
  await redis.kill()
  await t.rejects(client.listServices(), { code: 'NM_REGISTRY_UNREACHABLE' })
  const r = await runCli(['services'], { NODEMESH_STATE_DIR: dir })
  t.equal(r.code, 1)
  t.match(stderrLines(r), [/^nodemesh: NM_REGISTRY_UNREACHABLE: /])
  t.equal((await client.getStatus()).node, 'n1', 'the agent itself still answers')
})
