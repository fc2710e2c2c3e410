/**
 * HTTP/2 flow control for the tunnel, the same on both ends. The defaults (64 KiB per stream
 * and per connection) cap one stream at 64 KiB per round trip; a tunnel carries bulk TCP, so
 * windows are sized for throughput, and the session memory bound is raised to match.
 */
export const TUNNEL_STREAM_WINDOW = 4 * 1024 * 1024
export const TUNNEL_SESSION_WINDOW = 16 * 1024 * 1024
export const TUNNEL_MAX_SESSION_MEMORY_MB = 64

export const TUNNEL_HTTP2_SETTINGS = {
  initialWindowSize: TUNNEL_STREAM_WINDOW,
  maxFrameSize: 64 * 1024,
  maxConcurrentStreams: 1000,
} as const
