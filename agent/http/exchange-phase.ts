/** Where a client connection is; read by both the request side and the response side. */
export const Phase = {
  /** Waiting for (or parsing) a request head. */
  Head: 0,
  /** A request is being forwarded and its response awaited or forwarded. */
  Forward: 1,
  /** Spliced raw to the upstream after a 101. */
  Upgraded: 2,
  /** Done: our FIN is sent or the socket is gone. */
  Closed: 3,
} as const
export type Phase = (typeof Phase)[keyof typeof Phase]
