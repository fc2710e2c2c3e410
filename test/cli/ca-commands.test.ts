/** `nodemesh ca ...` through the built CLI (build first: npx tsc -p . ; node scripts/copy-assets.js). */
import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { connectCa } from '../../ca/ca-client'
import { generateKeyPem } from '../../ca/generate-key'
import { makeCsrPem } from '../../ca/make-csr'
import { freePort } from '../helpers/free-port'
import { BUILT_CLI, runCli, stderrLines } from './spawn-cli'

function tmp(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-ca-cli-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('ca init creates the root once', async (t) => {
  const dir = path.join(tmp(t), 'ca')
  const r = await runCli(['ca', 'init', '--dir', dir, '--trust-domain', 'example.org'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /trust domain example\.org/)
  const root = new X509Certificate(fs.readFileSync(path.join(dir, 'ca.crt')))
  t.equal(root.ca, true)
  t.match(root.subject, /CN=nodemesh root example\.org/)
  t.equal(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777, 0o600, 'ca.key is 0600')
  t.same(JSON.parse(fs.readFileSync(path.join(dir, 'ca.json'), 'utf8')).trustDomain, 'example.org')

  const again = await runCli(['ca', 'init', '--dir', dir])
  t.equal(again.code, 1)
  t.match(stderrLines(again), [/^nodemesh: NM_ALREADY_EXISTS: .*ca\.crt exists/])
  t.equal(stderrLines(again).length, 1)
  t.equal(new X509Certificate(fs.readFileSync(path.join(dir, 'ca.crt'))).serialNumber, root.serialNumber, 'the root is untouched')
})

t.test('bad arguments: one line, exit 2', async (t) => {
  const dir = path.join(tmp(t), 'ca')
  for (const args of [
    ['ca', 'init'],
    ['ca', 'init', '--dir', dir, '--trust-domain', 'Not A Domain'],
    ['ca', 'node-token', 'bad name', '--dir', dir],
    ['ca', 'node-token', 'vm-1', '--dir', dir, '--ttl', 'forever'],
    ['ca', 'issue-node', 'vm-1', '--dir', dir],
    ['ca', 'serve', '--dir', dir],
    ['ca', 'serve', '--dir', dir, '--registry', 'file:/x', '--listen', 'nowhere'],
  ]) {
    const r = await runCli(args)
    t.equal(r.code, 2, args.join(' '))
    t.equal(stderrLines(r).length, 1, `${args.join(' ')}: ${r.stderr}`)
    t.match(r.stderr, /^nodemesh: NM_BAD_ARGUMENT: /)
  }
  const noCa = await runCli(['ca', 'node-token', 'vm-1', '--dir', dir])
  t.equal(noCa.code, 1)
  t.match(noCa.stderr, /NM_NOT_FOUND: .*nodemesh ca init/)
})

t.test('node-token and issue-node', async (t) => {
  const base = tmp(t)
  const dir = path.join(base, 'ca')
  t.equal((await runCli(['ca', 'init', '--dir', dir])).code, 0)

  const tok = await runCli(['ca', 'node-token', 'vm-1', '--dir', dir, '--ttl', '30m', '--ca-address', 'ca.example:15012'])
  t.equal(tok.code, 0, tok.stderr)
  const token = tok.stdout.split('\n')[1]!
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  t.match(tok.stdout, `nodemesh agent --node vm-1 --ca-address ca.example:15012 --ca-bundle /etc/nodemesh/ca.crt --join-token ${token}`)
  const stored = fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8')
  t.notMatch(stored, token, 'tokens.json holds no token in the clear')
  t.equal(JSON.parse(stored).tokens[0].node, 'vm-1')
  t.equal(fs.statSync(path.join(dir, 'tokens.json')).mode & 0o777, 0o600)

  const out = path.join(base, 'vm-1')
  const iss = await runCli(['ca', 'issue-node', 'vm-1', '--dir', dir, '--out', out, '--ttl', '48h'])
  t.equal(iss.code, 0, iss.stderr)
  const cert = new X509Certificate(fs.readFileSync(path.join(out, 'node.crt')))
  t.equal(cert.subjectAltName, 'URI:spiffe://nodemesh.local/node/vm-1')
  t.ok(cert.verify(new X509Certificate(fs.readFileSync(path.join(out, 'ca.crt'))).publicKey))
  const hours = (new Date(cert.validTo).getTime() - Date.now()) / 3_600_000
  t.ok(hours > 47.9 && hours <= 48, `48 h (${hours})`)
  t.equal(fs.statSync(path.join(out, 'node.key')).mode & 0o777, 0o600)
  const twice = await runCli(['ca', 'issue-node', 'vm-1', '--dir', dir, '--out', out])
  t.equal(twice.code, 1)
  t.match(twice.stderr, /NM_ALREADY_EXISTS/)
})

t.test('ca serve answers a join over TLS and stops on SIGTERM', async (t) => {
  const base = tmp(t)
  const dir = path.join(base, 'ca')
  t.equal((await runCli(['ca', 'init', '--dir', dir])).code, 0)
  const token = (await runCli(['ca', 'node-token', 'vm-1', '--dir', dir])).stdout.split('\n')[1]!
  const port = await freePort()
  const child = spawn(process.execPath, [BUILT_CLI, 'ca', 'serve', '--dir', dir, '--registry', `file:${path.join(base, 'registry.json')}`, '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { out += d; if (out.includes('CA listening')) resolve() })
    child.on('exit', () => reject(new Error(`ca serve exited: ${out}`)))
  })
  const client = connectCa({ address: `127.0.0.1:${port}`, trustBundlePem: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8') })
  const reply = await client.joinNode(token, 'vm-1', makeCsrPem(await generateKeyPem()))
  client.close()
  t.equal(new X509Certificate(reply.certChainPem).subjectAltName, 'URI:spiffe://nodemesh.local/node/vm-1')
  t.notMatch(out, token, 'the token is not logged')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})
