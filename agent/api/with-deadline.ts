/**
 * Bounds a registry call: when `work` has not settled within `ms`, the result rejects with the
 * error `onTimeout` builds (the work itself is not cancelled).
 */
import type { NmError } from '../../registry/errors'

export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => NmError): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
