/**
 * Outstanding-request counters per endpoint target (`address:port`). Kept outside the
 * immutable routing table so a table swap never resets or races them; shared by every
 * listener of the agent so the load balancer sees all traffic to an endpoint.
 */
export class EndpointLoad {
  private readonly counts = new Map<string, number>()

  outstanding(target: string): number {
    return this.counts.get(target) ?? 0
  }

  begin(target: string): void {
    this.counts.set(target, (this.counts.get(target) ?? 0) + 1)
  }

  end(target: string): void {
    const n = this.counts.get(target)
    if (n === undefined) return
    // Entries at zero are dropped so endpoints that left the mesh do not accumulate.
    if (n <= 1) this.counts.delete(target)
    else this.counts.set(target, n - 1)
  }

  /** Number of targets with requests in flight (for debugging and tests). */
  get size(): number {
    return this.counts.size
  }
}
