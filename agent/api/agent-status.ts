/** What `nodemesh status` shows: the agent's own view of itself and its registry. */
export interface AgentStatus {
  readonly node: string
  /** Registry description with any credentials redacted. */
  readonly registry: string
  /** Registry revision of the snapshot in use. */
  readonly revision: number
  /** True while the registry is reachable. */
  readonly connected: boolean
  /** Seconds since the snapshot was last known to match the registry. */
  readonly stalenessSeconds: number
  /** Bind-mode service listeners open. */
  readonly listeners: number
  readonly version: string
}
