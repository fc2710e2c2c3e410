/**
 * Policies through the agent API on a real unix socket over a real embedded registry, called
 * by the client and by the built CLI. The CLI cases need a build first (`npm test` builds; or
 * `npx tsc -p . ; node scripts/copy-assets.js`).
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { connectAgentApi } from '../../../agent/api/agent-api-client'
import { buildSnapshot } from '../../../registry/build-snapshot'
import type { AuthorizationPolicy } from '../../../registry/records'
import { BUILT_CLI, runCli, stderrLines } from '../../cli/spawn-cli'
import { setupAgentApi } from './agent-api-fixture'

if (!fs.existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: build first with \`npm run build\``)

t.test('the client: put, list, delete, and errors as NmError', async (t) => {
  const { store, socketPath } = await setupAgentApi(t)
  const client = connectAgentApi(socketPath)
  t.teardown(() => client.close())
  t.same(await client.listPolicies(), [])

  const full: AuthorizationPolicy = {
    name: 'full', target: 'default/web', action: 'ALLOW',
    from: { identities: ['spiffe://nodemesh.local/ns/a/sa/b'], namespaces: ['a'], services: ['a/b'] },
    to: { ports: [80, 443], methods: ['GET'], paths: ['/api/*', '*.png', '*'] },
  }
  const bare: AuthorizationPolicy = { name: 'bare', target: '*', action: 'DENY', from: {}, to: {} }
  t.same(await client.putPolicy(full), full, 'every field survives the wire')
  t.same(await client.putPolicy(bare), bare, 'absent lists stay absent (not empty)')
  t.same(await client.listPolicies(), [bare, full], 'sorted by name')
  const snap = buildSnapshot(await store.load()).snapshot
  t.same(snap.policies.get('full'), full, 'stored as sent')
  t.same(snap.policies.get('bare'), bare)

  const changed = { ...full, action: 'DENY' as const, to: { ports: [80] } }
  await client.putPolicy(changed)
  t.same((await client.listPolicies()).find((p) => p.name === 'full'), changed, 'a put with the same name replaces')

  await t.rejects(client.putPolicy({ ...bare, name: 'Bad' }), { code: 'NM_BAD_RECORD', message: /name: must be a DNS label/ })
  await t.rejects(client.putPolicy({ ...bare, target: 'web' }), { code: 'NM_BAD_RECORD', message: /target: must be a service key/ })
  await t.rejects(client.putPolicy({ ...bare, to: { paths: ['nope'] } }), { code: 'NM_BAD_RECORD', message: /to\.paths\[0\]/ })
  await t.rejects(client.putPolicy({ ...bare, action: 'MAYBE' as 'ALLOW' }), { code: 'NM_BAD_ARGUMENT', message: /must be ALLOW or DENY/ })

  await client.deletePolicy('bare')
  t.same((await client.listPolicies()).map((p) => p.name), ['full'])
  await t.rejects(client.deletePolicy('bare'), { code: 'NM_NOT_FOUND', message: /policy bare does not exist: list policies with `nodemesh policies`/ })
})

t.test('the CLI through the agent', async (t) => {
  const { socketPath } = await setupAgentApi(t)
  const cli = (...args: string[]) => runCli(args, { NODEMESH_STATE_DIR: path.dirname(socketPath) })

  const made = await cli('policy', 'deny', '--to', 'web', '--from-namespace', 'legacy', '--method', 'DELETE', '--path', '/admin/*')
  t.equal(made.code, 0, made.stderr)
  const name = /^policy (deny-web-from-ns-legacy-[0-9a-f]{6}) saved\n$/.exec(made.stdout)?.[1]
  t.ok(name, made.stdout)
  const allow = await cli('policy', 'allow', '--to', 'web', '--from', 'api', '--name', 'web-from-api')
  t.equal(allow.code, 0, allow.stderr)

  const listed = await cli('policies', '-o', 'json')
  t.equal(listed.code, 0, listed.stderr)
  t.same(JSON.parse(listed.stdout), [
    { name, target: 'default/web', action: 'DENY', from: { namespaces: ['legacy'] }, to: { methods: ['DELETE'], paths: ['/admin/*'] } },
    { name: 'web-from-api', target: 'default/web', action: 'ALLOW', from: { services: ['default/api'] }, to: {} },
  ])

  const mesh = await cli('mesh', 'init', '--default-deny', 'true')
  t.equal(mesh.code, 0, mesh.stderr)
  t.match(mesh.stdout, /default deny true/)
  t.equal((JSON.parse((await cli('mesh', 'show', '-o', 'json')).stdout) as { defaultDeny: boolean }).defaultDeny, true)

  const del = await cli('policy', 'delete', 'web-from-api')
  t.equal(del.code, 0, del.stderr)
  t.equal(del.stdout, 'policy web-from-api deleted\n')
  const again = await cli('policy', 'delete', 'web-from-api')
  t.equal(again.code, 1)
  t.match(stderrLines(again), [/^nodemesh: NM_NOT_FOUND: policy web-from-api does not exist/])
  const badArg = await cli('policy', 'allow', '--to', 'web', '--method', 'G E T')
  t.equal(badArg.code, 2)
  t.match(stderrLines(badArg), [/^nodemesh: NM_BAD_ARGUMENT: --method "G E T"/])
  t.same((JSON.parse((await cli('policies', '-o', 'json')).stdout) as AuthorizationPolicy[]).map((p) => p.name), [name])
})
