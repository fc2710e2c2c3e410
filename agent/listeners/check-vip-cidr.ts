/**
 * Whether the interception mode fits the mesh's VIP CIDR, said at start and whenever the
 * CIDR changes: bind mode needs the VIPs to be local addresses (loopback, or a CIDR routed
 * locally), capture mode on a loopback CIDR reaches host processes only.
 */
import net from 'node:net'
import { mustParseCidr, nthAddress, hostOffsets } from '../../registry/cidr'

export type CidrFit =
  | { readonly ok: true }
  | { readonly ok: false; readonly message: string }

/** Pure: the verdict from the mode, the CIDR and whether its first VIP could be bound here. */
export function judgeVipCidr(capture: boolean, vipCidr: string, firstVipBindable: boolean, expected?: string): CidrFit {
  if (expected !== undefined && expected !== vipCidr) {
    return { ok: false, message: `this agent expects the VIP CIDR ${expected} (--vip-cidr) but the mesh uses ${vipCidr}: set it mesh-wide with nodemesh mesh init --vip-cidr ${expected}, or start the agent without --vip-cidr` }
  }
  const loopback = vipCidr.startsWith('127.')
  if (capture && loopback) {
    return { ok: false, message: `capture mode with the loopback VIP CIDR ${vipCidr} reaches host processes only; for pods and containers use a routable CIDR: nodemesh mesh init --vip-cidr 240.240.0.0/16` }
  }
  if (!capture && !firstVipBindable) {
    return { ok: false, message: `bind mode, but the VIPs of ${vipCidr} are not local addresses here, so no VIP listener can open: run the agent with --capture, or make the CIDR local (ip route add local ${vipCidr} dev lo)` }
  }
  return { ok: true }
}

/** Tries to bind an ephemeral port on the CIDR's first host address. */
export function firstVipBindable(vipCidr: string): Promise<boolean> {
  const cidr = mustParseCidr(vipCidr)
  const host = nthAddress(cidr, hostOffsets(cidr).first)
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen({ host, port: 0, exclusive: true }, () => probe.close(() => resolve(true)))
  })
}
