/**
 * The issuer as a real gRPC service over TLS on loopback, with an embedded registry: who may
 * get which certificate, and the join tokens.
 */
import { X509Certificate } from 'node:crypto'
import path from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { connectCa } from '../../ca/ca-client'
import { caDirFiles } from '../../ca/ca-dir'
import { issueNodeBundle } from '../../ca/issue-node-bundle'
import { createIssuer } from '../../ca/issuer'
import { addToken, newJoinToken } from '../../ca/join-tokens'
import { serveCa } from '../../ca/serve-ca'
import { updateTokens } from '../../ca/token-file'
import { readNodeBundle } from '../../agent/identity/identity-files'
import { keyAndCsr, newCa, tempDir } from './ca-fixture'
import { API_ID, WEB_ID, registryWithWeb } from './registry-fixture'

const log = pino({ level: 'silent' })

async function setup(t: Test) {
  const ca = await newCa()
  t.teardown(ca.remove)
  const tmp = tempDir('nm-ca-reg-')
  t.teardown(tmp.remove)
  const { store, lookup } = await registryWithWeb(tmp.dir)
  t.teardown(() => store.close())
  const issuer = createIssuer({ ca, lookup, log })
  const server = await serveCa({ ca, issuer, listen: '127.0.0.1:0', serverNames: ['localhost', '127.0.0.1'], log })
  t.teardown(() => server.close())
  const address = `127.0.0.1:${server.port}`
  /** A client authenticated as `node` with an offline bundle from this CA. */
  const clientFor = async (node: string) => {
    const out = path.join(tmp.dir, `bundle-${node}`)
    await issueNodeBundle(ca.dir, node, out, 3_600_000)
    const b = readNodeBundle(out)!
    const client = connectCa({ address, trustBundlePem: ca.certPem, nodeCredential: { keyPem: b.keyPem, certChainPem: b.certChainPem } })
    t.teardown(() => client.close())
    return client
  }
  return { ca, tmp, address, clientFor }
}

t.test('a node gets a certificate for a workload on it, and nothing else', async (t) => {
  const { ca, address, clientFor } = await setup(t)
  const nodeA = await clientFor('node-a')
  const { csrPem } = await keyAndCsr()

  const ok = await nodeA.signWorkload(csrPem, WEB_ID)
  const leaf = new X509Certificate(ok.certChainPem)
  t.equal(leaf.subjectAltName, `URI:${WEB_ID}`)
  t.ok(leaf.verify(new X509Certificate(ca.certPem).publicKey), 'signed by the root')
  t.equal(ok.trustBundlePem, ca.certPem, 'the trust bundle is the root')

  await t.rejects(nodeA.signWorkload(csrPem, API_ID), { code: 'NM_PERMISSION_DENIED', message: /node node-a has no endpoint .* namespace prod with service account api/ },
    'api has endpoints only on node-b')
  await t.rejects(nodeA.signWorkload(csrPem, 'spiffe://other.domain/ns/prod/sa/web-sa'), { code: 'NM_PERMISSION_DENIED', message: /trust domain other\.domain/ })
  await t.rejects(nodeA.signWorkload(csrPem, 'spiffe://nodemesh.local/node/node-a'), { code: 'NM_PERMISSION_DENIED', message: /not a workload identity/ })

  const nodeB = await clientFor('node-b')
  t.equal(new X509Certificate((await nodeB.signWorkload(csrPem, API_ID)).certChainPem).subjectAltName, `URI:${API_ID}`, 'node-b gets api')
  await t.rejects(nodeB.signWorkload(csrPem, WEB_ID), { code: 'NM_PERMISSION_DENIED' }, 'but not web')

  const anonymous = connectCa({ address, trustBundlePem: ca.certPem })
  t.teardown(() => anonymous.close())
  await t.rejects(anonymous.signWorkload(csrPem, WEB_ID), { code: 'NM_PERMISSION_DENIED', message: /no client certificate/ }, 'no client certificate')
  await t.rejects(anonymous.renewNode(csrPem), { code: 'NM_PERMISSION_DENIED' })
})

t.test('a node certificate from another CA is refused', async (t) => {
  const { address, ca } = await setup(t)
  const other = await newCa()
  t.teardown(other.remove)
  const out = path.join(other.dir, 'bundle')
  await issueNodeBundle(other.dir, 'node-a', out, 3_600_000)
  const b = readNodeBundle(out)!
  // Trusts the real CA's server certificate, but presents a node-a credential from the other CA.
  const impostor = connectCa({ address, trustBundlePem: ca.certPem, nodeCredential: { keyPem: b.keyPem, certChainPem: b.certChainPem } })
  t.teardown(() => impostor.close())
  const { csrPem } = await keyAndCsr()
  await t.rejects(impostor.signWorkload(csrPem, WEB_ID), { code: 'NM_PERMISSION_DENIED', message: /no client certificate chaining to the mesh root/ })
})

t.test('a workload certificate cannot stand in for a node credential', async (t) => {
  const { address, ca, clientFor } = await setup(t)
  const nodeA = await clientFor('node-a')
  const w = await keyAndCsr()
  const workload = await nodeA.signWorkload(w.csrPem, WEB_ID)
  const asWorkload = connectCa({ address, trustBundlePem: ca.certPem, nodeCredential: { keyPem: w.keyPem, certChainPem: workload.certChainPem } })
  t.teardown(() => asWorkload.close())
  await t.rejects(asWorkload.signWorkload(w.csrPem, WEB_ID), { code: 'NM_PERMISSION_DENIED', message: /not a node/ })
})

t.test('a join token works once, for its node, before it expires', async (t) => {
  const { ca, address } = await setup(t)
  const tokensFile = caDirFiles(ca.dir).tokens
  const token = newJoinToken()
  await updateTokens(tokensFile, (list) => ({ tokens: addToken(list, token, 'node-a', 3_600_000, new Date()), result: undefined }))
  const client = connectCa({ address, trustBundlePem: ca.certPem })
  t.teardown(() => client.close())
  const { keyPem, csrPem } = await keyAndCsr()

  await t.rejects(client.joinNode(token, 'node-b', csrPem), { code: 'NM_TOKEN_INVALID' }, 'made for another node')
  const joined = await client.joinNode(token, 'node-a', csrPem)
  t.equal(new X509Certificate(joined.certChainPem).subjectAltName, 'URI:spiffe://nodemesh.local/node/node-a')
  await t.rejects(client.joinNode(token, 'node-a', csrPem), { code: 'NM_TOKEN_INVALID', message: /nodemesh ca node-token node-a/ }, 'second use refused')
  await t.rejects(client.joinNode('made-up', 'node-a', csrPem), { code: 'NM_TOKEN_INVALID' }, 'unknown token refused')

  // The joined credential authenticates, and can renew itself.
  const asNode = connectCa({ address, trustBundlePem: ca.certPem, nodeCredential: { keyPem, certChainPem: joined.certChainPem } })
  t.teardown(() => asNode.close())
  const renewed = await asNode.renewNode((await keyAndCsr()).csrPem)
  t.equal(new X509Certificate(renewed.certChainPem).subjectAltName, 'URI:spiffe://nodemesh.local/node/node-a')

  const old = newJoinToken()
  await updateTokens(tokensFile, (list) => ({ tokens: addToken(list, old, 'node-a', 60_000, new Date(Date.now() - 120_000)), result: undefined }))
  await t.rejects(client.joinNode(old, 'node-a', csrPem), { code: 'NM_TOKEN_INVALID' }, 'expired token refused')
})

t.test('a bad CSR does not burn the join token', async (t) => {
  const { ca, address } = await setup(t)
  const token = newJoinToken()
  await updateTokens(caDirFiles(ca.dir).tokens, (list) => ({ tokens: addToken(list, token, 'node-a', 3_600_000, new Date()), result: undefined }))
  const client = connectCa({ address, trustBundlePem: ca.certPem })
  t.teardown(() => client.close())
  await t.rejects(client.joinNode(token, 'node-a', 'garbage'), { code: 'NM_BAD_ARGUMENT' })
  const joined = await client.joinNode(token, 'node-a', (await keyAndCsr()).csrPem)
  t.match(joined.certChainPem, /BEGIN CERTIFICATE/)
})

t.test('an unreachable CA is named as such', async (t) => {
  const ca = await newCa()
  t.teardown(ca.remove)
  const client = connectCa({ address: '127.0.0.1:1', trustBundlePem: ca.certPem, deadlineMs: 2000 })
  t.teardown(() => client.close())
  await t.rejects(client.joinNode('x', 'node-a', 'csr'), { code: 'NM_CA_UNREACHABLE' })
})
