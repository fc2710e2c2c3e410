/**
 * WorkloadCerts against real issuers: rotation under a live TLS connection, restart with the
 * CA down, dropping unwanted identities, and a remote CA reached with a join token.
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import pino from 'pino'
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import { caDirFiles } from '../../../ca/ca-dir'
import { issueNodeBundle } from '../../../ca/issue-node-bundle'
import { createIssuer } from '../../../ca/issuer'
import { addToken, newJoinToken } from '../../../ca/join-tokens'
import { serveCa } from '../../../ca/serve-ca'
import { updateTokens } from '../../../ca/token-file'
import { connectCaIssuer } from '../../../agent/identity/ca-issuer'
import { certsDebugView } from '../../../agent/identity/cert-metrics'
import { localIssuer } from '../../../agent/identity/local-issuer'
import { startWorkloadCerts, type WorkloadCerts } from '../../../agent/identity/workload-certs'
import { newCa, tempDir } from '../../ca/ca-fixture'
import { WEB_ID, registryWithWeb } from '../../ca/registry-fixture'

const log = pino({ level: 'silent' })
const TD = 'nodemesh.local'

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function fixture(t: Test) {
  const ca = await newCa()
  t.teardown(ca.remove)
  const tmp = tempDir('nm-wc-')
  t.teardown(tmp.remove)
  const reg = await registryWithWeb(tmp.dir)
  t.teardown(() => reg.store.close())
  return { ca, tmp, ...reg }
}

/** An echo server presenting `identity` from `certs` per connection and requiring a client certificate. */
async function echoServer(t: Test, certs: WorkloadCerts, identity: string): Promise<number> {
  const server = tls.createServer({
    SNICallback: (_name, cb) => cb(null, certs.secureContext(identity)),
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3',
  }, (s) => s.pipe(s))
  const sockets = new Set<net.Socket>()
  server.on('secureConnection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => { for (const s of sockets) s.destroy(); return new Promise<void>((r) => server.close(() => r())) })
  return (server.address() as net.AddressInfo).port
}

function connect(port: number, certs: WorkloadCerts, identity: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'web', secureContext: certs.secureContext(identity), checkServerIdentity: () => undefined })
    s.once('secureConnect', () => resolve(s))
    s.once('error', reject)
  })
}

function echo(s: tls.TLSSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (d: Buffer) => resolve(d.toString()))
    s.once('error', reject)
    s.write(text)
  })
}

t.test('renewal swaps the certificate for new connections and leaves an open one working', async (t) => {
  const { ca, tmp, lookup } = await fixture(t)
  const metrics = new Registry()
  const certs = await startWorkloadCerts({
    node: 'node-a', trustDomain: TD, stateDir: path.join(tmp.dir, 'state'), log, metrics,
    issuer: localIssuer({ caDir: ca.dir, node: 'node-a', lookup, workloadTtlMs: 4_000 }),
  })
  t.teardown(() => certs.close())
  t.equal(certs.get(certs.nodeIdentity())?.identity, 'spiffe://nodemesh.local/node/node-a', 'node credential held at start')
  certs.want([WEB_ID])
  const first = await until('the first certificate', () => certs.get(WEB_ID))
  t.ok(first.notAfter.getTime() - Date.now() <= 4_000, '4 s certificate')

  const port = await echoServer(t, certs, WEB_ID)
  const old = await connect(port, certs, WEB_ID)
  t.teardown(() => old.destroy())
  t.equal(old.getPeerCertificate().serialNumber.replace(/^(00)+/, ''), first.serial, 'the old connection uses the first certificate')
  t.equal(await echo(old, 'one'), 'one')

  const second = await until('renewal', () => { const c = certs.get(WEB_ID); return c && c.serial !== first.serial ? c : undefined })
  t.ok(second.notAfter > first.notAfter, 'the renewed certificate lasts longer')
  const fresh = await connect(port, certs, WEB_ID)
  t.teardown(() => fresh.destroy())
  t.equal(fresh.getPeerCertificate().serialNumber.replace(/^(00)+/, ''), certs.get(WEB_ID)!.serial, 'a new connection gets the current certificate')
  t.not(fresh.getPeerCertificate().serialNumber.replace(/^(00)+/, ''), first.serial)

  t.equal(await echo(old, 'two'), 'two', 'the old connection still works after the rotation')
  await until('the first certificate to expire', () => (Date.now() > first.notAfter.getTime() + 200 ? true : undefined))
  t.equal(await echo(old, 'three'), 'three', 'and after its certificate expired')
  t.equal(old.destroyed, false)

  const scraped = await metrics.getSingleMetricAsString('nodemesh_certificate_expiry_seconds')
  const m = new RegExp(`identity="${WEB_ID.replace(/[/.]/g, '\\$&')}"} (-?[0-9]+)`).exec(scraped)
  t.ok(m && Number(m[1]) <= 4 && Number(m[1]) >= -1, `expiry gauge for the workload (${m?.[1]})`)
  t.match(scraped, /identity="spiffe:\/\/nodemesh\.local\/node\/node-a"} [0-9]+/)
  const view = certsDebugView(certs)
  t.same(view.certs.map((c) => c.identity), [WEB_ID, 'spiffe://nodemesh.local/node/node-a'].sort())
  t.notMatch(JSON.stringify(view), /PRIVATE KEY/, 'the debug view carries no keys')
})

t.test('a restart with the CA down serves the saved certificates', async (t) => {
  const { ca, tmp, lookup } = await fixture(t)
  const stateDir = path.join(tmp.dir, 'state')
  const bundleDir = path.join(tmp.dir, 'bundle')
  await issueNodeBundle(ca.dir, 'node-a', bundleDir, 3_600_000)
  const server = await serveCa({ ca, issuer: createIssuer({ ca, lookup, log }), listen: '127.0.0.1:0', serverNames: ['127.0.0.1'], log })
  const address = `127.0.0.1:${server.port}`

  const issuer = await connectCaIssuer({ node: 'node-a', stateDir, caAddress: address, nodeCredentialDir: bundleDir, log })
  t.equal(issuer.trustDomain, TD)
  const certs = await startWorkloadCerts({ node: 'node-a', trustDomain: TD, stateDir, issuer, log })
  certs.want([WEB_ID])
  const issued = await until('a certificate from the CA', () => certs.get(WEB_ID))
  certs.close()
  await server.close()
  const mode = fs.statSync(fs.readdirSync(path.join(stateDir, 'identity', 'workloads')).map((f) => path.join(stateDir, 'identity', 'workloads', f))[0]!).mode & 0o777
  t.equal(mode, 0o600, 'the saved certificate and key are 0600')
  t.equal(fs.statSync(path.join(stateDir, 'identity', 'node.key')).mode & 0o777, 0o600)

  // The CA is gone; the saved node credential is picked up without --node-credential.
  const down = await connectCaIssuer({ node: 'node-a', stateDir, caAddress: address, log, deadlineMs: 1000 })
  const again = await startWorkloadCerts({ node: 'node-a', trustDomain: TD, stateDir, issuer: down, log })
  t.teardown(() => again.close())
  t.equal(again.get(WEB_ID)?.serial, issued.serial, 'the saved certificate is served at once')
  t.ok(again.secureContext(WEB_ID), 'with a TLS context')
  again.want([WEB_ID])
  t.equal(again.get(WEB_ID)?.serial, issued.serial, 'and kept while wanted')
})

t.test('an identity no longer wanted is dropped, from memory and disk', async (t) => {
  const { ca, tmp, lookup } = await fixture(t)
  const stateDir = path.join(tmp.dir, 'state')
  const certs = await startWorkloadCerts({ node: 'node-a', trustDomain: TD, stateDir, log, issuer: localIssuer({ caDir: ca.dir, node: 'node-a', lookup }) })
  t.teardown(() => certs.close())
  certs.want([WEB_ID, 'spiffe://other.domain/ns/prod/sa/web-sa'])
  await until('the certificate', () => certs.get(WEB_ID))
  t.equal(certs.list().length, 2, 'node and web; the foreign identity is ignored')
  certs.want([])
  t.equal(certs.get(WEB_ID), undefined)
  t.equal(certs.secureContext(WEB_ID), undefined)
  t.same(fs.readdirSync(path.join(stateDir, 'identity', 'workloads')), [])
})

t.test('a refused identity is retried, and issued once the registry has it', async (t) => {
  const { ca, tmp, lookup, store } = await fixture(t)
  const certs = await startWorkloadCerts({ node: 'node-a', trustDomain: TD, stateDir: path.join(tmp.dir, 'state'), log, issuer: localIssuer({ caDir: ca.dir, node: 'node-a', lookup }) })
  t.teardown(() => certs.close())
  const api = 'spiffe://nodemesh.local/ns/prod/sa/api'
  certs.want([api])
  await new Promise((r) => setTimeout(r, 300))
  t.equal(certs.get(api), undefined, 'api has no endpoint on node-a yet')
  await store.registerEndpoint({ service: 'prod/api', node: 'node-a', address: '10.0.0.4', ports: { 80: 8080 } })
  await until('the certificate after the retry', () => certs.get(api))
  t.pass('issued after backoff')
})

t.test('a join token gets a node credential, which is renewed and used for later calls', async (t) => {
  const { ca, tmp, lookup } = await fixture(t)
  const server = await serveCa({ ca, issuer: createIssuer({ ca, lookup, log, nodeTtlMs: 4_000 }), listen: '127.0.0.1:0', serverNames: ['127.0.0.1'], log })
  t.teardown(() => server.close())
  const token = newJoinToken()
  await updateTokens(caDirFiles(ca.dir).tokens, (list) => ({ tokens: addToken(list, token, 'node-a', 3_600_000, new Date()), result: undefined }))
  const stateDir = path.join(tmp.dir, 'state')
  const base = { node: 'node-a', stateDir, caAddress: `127.0.0.1:${server.port}`, log }
  await t.rejects(connectCaIssuer({ ...base, joinToken: token }), { code: 'NM_BAD_ARGUMENT', message: /--ca-bundle/ })
  const issuer = await connectCaIssuer({ ...base, joinToken: token, caBundleFile: caDirFiles(ca.dir).cert })
  const certs = await startWorkloadCerts({ node: 'node-a', trustDomain: issuer.trustDomain, stateDir, issuer, log })
  t.teardown(() => certs.close())
  const joined = certs.get(certs.nodeIdentity())!
  await until('node renewal', () => (certs.get(certs.nodeIdentity())?.serial !== joined.serial ? true : undefined))
  await until('the joined credential to expire', () => (Date.now() > joined.notAfter.getTime() + 200 ? true : undefined))
  certs.want([WEB_ID])
  await until('a workload certificate asked with the renewed credential', () => certs.get(WEB_ID))
  t.pass('signed after the first credential expired')
  // The token was used: a second join with it fails.
  fs.rmSync(path.join(stateDir, 'identity'), { recursive: true })
  await t.rejects(connectCaIssuer({ ...base, joinToken: token, caBundleFile: caDirFiles(ca.dir).cert }), { code: 'NM_TOKEN_INVALID' })
})
