/**
 * The agent's issuer when the CA runs elsewhere (`nodemesh ca serve`): finds or obtains the
 * node credential (saved bundle, --node-credential DIR, or a one-time --join-token), then
 * calls the CA with it as the TLS client certificate, switching when it is renewed.
 */
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import { connectCa, type CaClient } from '../../ca/ca-client'
import { generateKeyPem } from '../../ca/generate-key'
import { makeCsrPem } from '../../ca/make-csr'
import { NmError } from '../../registry/errors'
import type { Logger } from '../observe/logger'
import { identityDir, readNodeBundle, writeNodeBundle, type NodeBundle } from './identity-files'
import { pickNodeCredential } from './node-credential'
import { leafPem, readIssuedCert } from './read-issued-cert'
import { nodeId, parseSpiffeId } from './spiffe'
import type { WorkloadIssuer } from './workload-issuer'

export interface CaIssuerOptions {
  readonly node: string
  readonly stateDir: string
  /** HOST:PORT of `nodemesh ca serve`. */
  readonly caAddress: string
  /** An offline bundle from `nodemesh ca issue-node` (node.key, node.crt, ca.crt). */
  readonly nodeCredentialDir?: string
  /** A one-time token from `nodemesh ca node-token`, used only when no credential is held. */
  readonly joinToken?: string
  /** The mesh root (ca.crt) to trust the CA by before the node has a credential. */
  readonly caBundleFile?: string
  readonly log: Logger
  readonly deadlineMs?: number
}

/** A node credential and the trust domain its SPIFFE ID names. */
type Credential = NodeBundle & { readonly trustDomain: string }

export async function connectCaIssuer(opts: CaIssuerOptions): Promise<WorkloadIssuer> {
  const { log, node } = opts
  const dir = identityDir(opts.stateDir)
  const candidates = [{ where: dir, bundle: readNodeBundle(dir) }]
  if (opts.nodeCredentialDir !== undefined) {
    const bundle = readNodeBundle(opts.nodeCredentialDir)
    if (!bundle) throw new NmError('NM_NOT_FOUND', `${opts.nodeCredentialDir} holds no node credential (node.key, node.crt, ca.crt): make one with \`nodemesh ca issue-node ${node} --out DIR\``)
    candidates.push({ where: opts.nodeCredentialDir, bundle })
  }
  const choice = pickNodeCredential(candidates, node, new Date())
  let credential: Credential
  if (choice.ok) {
    credential = choice.credential
    // The state directory holds the copy that renewals replace; the operator's bundle is left alone.
    if (choice.from !== 0) writeNodeBundle(dir, choice.credential)
  } else if (opts.joinToken !== undefined) {
    credential = await join(opts, dir)
  } else {
    const why = choice.reasons.length ? ` (${choice.reasons.join('; ')})` : ''
    throw new NmError('NM_NOT_FOUND', `no valid node credential for ${node}${why}: pass --node-credential DIR from \`nodemesh ca issue-node\`, or --join-token TOKEN --ca-bundle FILE from \`nodemesh ca node-token\``)
  }

  let trustBundlePem = credential.trustBundlePem
  const open = (keyPem: string, certChainPem: string): CaClient => connectCa({
    address: opts.caAddress, trustBundlePem, nodeCredential: { keyPem, certChainPem },
    ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
  })
  let client = open(credential.keyPem, credential.certChainPem)
  log.info({ ca: opts.caAddress, identity: nodeId(credential.trustDomain, node) }, 'using the mesh CA')
  const remember = <T extends { trustBundlePem: string }>(reply: T): T => { trustBundlePem = reply.trustBundlePem; return reply }

  return {
    trustDomain: credential.trustDomain,
    signWorkload: async (csrPem, identity) => remember(await client.signWorkload(csrPem, identity)),
    signNode: async (csrPem) => remember(await client.renewNode(csrPem)),
    nodeCredentialChanged(keyPem, certChainPem) {
      const old = client
      client = open(keyPem, certChainPem)
      old.close()
    },
    close: () => client.close(),
  }
}

async function join(opts: CaIssuerOptions, dir: string): Promise<Credential> {
  if (opts.caBundleFile === undefined) {
    throw new NmError('NM_BAD_ARGUMENT', '--join-token needs --ca-bundle FILE (the mesh root, ca.crt from the CA host) to trust the CA by')
  }
  let rootPem: string
  try {
    rootPem = fs.readFileSync(opts.caBundleFile, 'utf8')
  } catch (err) {
    throw new NmError('NM_NOT_FOUND', `cannot read --ca-bundle ${opts.caBundleFile}: ${(err as Error).message}`, { cause: err })
  }
  const keyPem = await generateKeyPem()
  const client = connectCa({ address: opts.caAddress, trustBundlePem: rootPem, ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}) })
  try {
    const reply = await client.joinNode(opts.joinToken as string, opts.node, makeCsrPem(keyPem))
    const san = parseSpiffeId(new X509Certificate(leafPem(reply.certChainPem)).subjectAltName?.replace(/^URI:/, '') ?? '')
    if (!san || san.kind !== 'node' || san.node !== opts.node) throw new NmError('NM_BAD_RECORD', 'the CA returned a credential for another identity')
    readIssuedCert(keyPem, reply.certChainPem, san.uri)
    writeNodeBundle(dir, { keyPem, certChainPem: reply.certChainPem, trustBundlePem: reply.trustBundlePem })
    opts.log.info({ node: opts.node, ca: opts.caAddress }, 'joined the mesh: node credential saved')
    return { keyPem, certChainPem: reply.certChainPem, trustBundlePem: reply.trustBundlePem, trustDomain: san.trustDomain }
  } finally {
    client.close()
  }
}
