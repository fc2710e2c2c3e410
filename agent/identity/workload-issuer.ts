/**
 * What the agent's certificate manager needs from a CA: a gRPC client of `nodemesh ca serve`
 * (ca-issuer.ts) or the CA in the agent's own process (local-issuer.ts).
 */
export interface IssuerReply {
  /** Leaf first, then any intermediates. */
  readonly certChainPem: string
  readonly trustBundlePem: string
}

export interface WorkloadIssuer {
  readonly trustDomain: string
  /** A certificate for a workload identity with an endpoint on this node. */
  signWorkload(csrPem: string, identity: string): Promise<IssuerReply>
  /** A (renewed) node credential for this node. */
  signNode(csrPem: string): Promise<IssuerReply>
  /** Told when the node credential was renewed, so later calls authenticate with it. */
  nodeCredentialChanged?(keyPem: string, certChainPem: string): void
  close?(): void
}
