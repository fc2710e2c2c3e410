/**
 * What the agent's certificate manager needs from a CA: a gRPC client of `nodemesh ca serve`
 * (ca-issuer.ts) or the CA in the agent's own process (local-issuer.ts).
 */
import type { CertResponse } from '../../ca/issuer'

export interface WorkloadIssuer {
  readonly trustDomain: string
  /** A certificate for a workload identity with an endpoint on this node. */
  signWorkload(csrPem: string, identity: string): Promise<CertResponse>
  /** A (renewed) node credential for this node. */
  signNode(csrPem: string): Promise<CertResponse>
  /** Told when the node credential was renewed, so later calls authenticate with it. */
  nodeCredentialChanged?(keyPem: string, certChainPem: string): void
  close?(): void
}
