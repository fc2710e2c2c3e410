/**
 * Capture mode: every TCP connection to the mesh VIP CIDR is redirected by iptables to one
 * listener, which reads the original destination (SO_ORIGINAL_DST) and hands the socket to
 * the same decision as a bind-mode listener. The rules follow the registry's VIP CIDR, replace
 * whatever a crashed agent left, and are removed on exit. Without the privilege or the native
 * addon, startup fails saying exactly what is missing.
 */
import type net from 'node:net'
import { NmError } from '../registry/errors'
import type { Snapshot } from '../registry/snapshot'
import { startCaptureListener, type CaptureListener } from './capture/capture-listener'
import { captureProblem, inspectEnvironment } from './capture/check-privileges'
import { installCaptureRules, type CaptureRules } from './capture/iptables-rules'
import { loadOriginalDst } from './capture/original-dst'
import type { Logger } from './observe/logger'

export interface Capture {
  /** True once rules for the registry's VIP CIDR are in place. */
  readonly installed: boolean
  onSnapshot(snapshot: Snapshot): void
  close(): Promise<void>
}

export async function startCapture(opts: {
  port: number
  log: Logger
  onConnection: (socket: net.Socket, vipPort: string) => void
  onRefused: (reason: string) => void
}): Promise<Capture> {
  const problem = captureProblem(inspectEnvironment())
  if (problem) throw problem
  const originalDst = loadOriginalDst()
  if (originalDst instanceof NmError) throw originalDst
  const listener: CaptureListener = await startCaptureListener({
    port: opts.port, log: opts.log, originalDst, onConnection: opts.onConnection, onRefused: opts.onRefused,
  })
  let rules: CaptureRules | undefined
  let cidr: string | undefined
  let chain: Promise<void> = Promise.resolve()

  const follow = (vipCidr: string): void => {
    chain = chain.then(async () => {
      if (vipCidr === cidr) return
      // installCaptureRules logs the install and the removal itself.
      rules = await installCaptureRules({ vipCidr, capturePort: opts.port, log: opts.log })
      cidr = vipCidr
    }).catch((err: Error) => opts.log.error({ err: err.message, vipCidr }, 'capture rules not installed; VIP traffic is not reaching the agent'))
  }

  return {
    get installed() { return cidr !== undefined },
    onSnapshot: (snapshot) => follow(snapshot.mesh.vipCidr),
    close: async () => {
      await chain
      await listener.close()
      await rules?.remove()
    },
  }
}
