/**
 * The issuer: every check before a signature, shared by the gRPC service (`ca serve`) and the
 * in-process issuer of a single-host agent (`nodemesh agent --ca-dir`).
 */
import { nodeId } from '../agent/identity/spiffe'
import type { Logger } from '../agent/observe/logger'
import { NmError } from '../registry/errors'
import { isValidNodeName } from '../registry/names'
import { decideWorkloadCert } from './authorize-workload'
import { caDirFiles, loadCaDir, type LoadedCa } from './ca-dir'
import { consumeToken } from './join-tokens'
import type { RegistryLookup } from './registry-lookup'
import { csrPublicKey, DEFAULT_SVID_TTL_MS, signSvid, type SignedCert } from './sign-svid'
import { updateTokens } from './token-file'

/** Node credentials outlive workload ones: an agent down for a day must still be able to renew. */
export const DEFAULT_NODE_TTL_MS = 7 * 86_400_000

export interface CertResponse {
  /** Leaf first, then any intermediates. */
  readonly certChainPem: string
  readonly trustBundlePem: string
}

export interface IssuerOptions {
  /** The CA directory, or an already loaded CA. */
  readonly caDir?: string
  readonly ca?: LoadedCa
  readonly lookup: RegistryLookup
  readonly workloadTtlMs?: number
  readonly nodeTtlMs?: number
  readonly log?: Logger
}

export interface Issuer {
  readonly trustDomain: string
  /** A workload certificate for `identity`, asked by `node` (already authenticated). */
  signWorkload(node: string, csrPem: string, identity: string): Promise<CertResponse>
  /** A node credential in exchange for a one-time join token. */
  joinNode(token: string, node: string, csrPem: string): Promise<CertResponse>
  /** A fresh node credential for `node` (authenticated by its current one, or trusted in-process). */
  signNode(node: string, csrPem: string): CertResponse
}

export function createIssuer(opts: IssuerOptions): Issuer {
  const ca = opts.ca ?? (opts.caDir !== undefined ? loadCaDir(opts.caDir) : undefined)
  if (!ca) throw new NmError('NM_BAD_ARGUMENT', 'the issuer needs a CA directory (--ca-dir)')
  const workloadTtlMs = opts.workloadTtlMs ?? DEFAULT_SVID_TTL_MS
  const nodeTtlMs = opts.nodeTtlMs ?? DEFAULT_NODE_TTL_MS
  const { trustDomain } = ca
  const respond = (signed: SignedCert): CertResponse => ({ certChainPem: signed.certPem, trustBundlePem: ca.certPem })

  const checkNode = (node: string): void => {
    if (!isValidNodeName(node)) throw new NmError('NM_BAD_ARGUMENT', `node name "${node}" is not valid (letters, digits, '.', '-', '_')`)
  }

  const signNode = (node: string, csrPem: string): CertResponse => {
    checkNode(node)
    const signed = signSvid({ ca: ca.signing, csrPem, uri: nodeId(trustDomain, node), ttlMs: nodeTtlMs })
    opts.log?.info({ node, serial: signed.serial, notAfter: signed.notAfter.toISOString() }, 'node credential issued')
    return respond(signed)
  }

  return {
    trustDomain,
    signNode,

    async signWorkload(node, csrPem, identity) {
      checkNode(node)
      const decision = decideWorkloadCert(await opts.lookup.snapshot(), node, identity, trustDomain)
      if (!decision.ok) {
        opts.log?.warn({ node, identity, reason: decision.reason }, 'workload certificate refused')
        throw new NmError('NM_PERMISSION_DENIED', `refused to sign ${identity} for node ${node}: ${decision.reason}`)
      }
      const signed = signSvid({ ca: ca.signing, csrPem, uri: identity, ttlMs: workloadTtlMs })
      opts.log?.info({ node, identity, serial: signed.serial, notAfter: signed.notAfter.toISOString() }, 'workload certificate issued')
      return respond(signed)
    },

    async joinNode(token, node, csrPem) {
      checkNode(node)
      if (!ca.dir) throw new NmError('NM_TOKEN_INVALID', 'this issuer has no CA directory, so it holds no join tokens')
      csrPublicKey(csrPem) // a malformed request must not burn the token
      // The token is consumed before signing: a crash in between costs a token, never reuses one.
      const outcome = await updateTokens(caDirFiles(ca.dir).tokens, (list) => {
        const r = consumeToken(list, token, node, new Date())
        return { tokens: r.tokens, result: r }
      })
      if (!outcome.ok) {
        opts.log?.warn({ node, reason: outcome.reason }, 'join token refused')
        throw new NmError('NM_TOKEN_INVALID',
          `the join token for node ${node} is unknown, expired, already used or made for another node: make a new one on the CA host with \`nodemesh ca node-token ${node}\``)
      }
      return signNode(node, csrPem)
    },
  }
}
