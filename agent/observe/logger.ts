import pino from 'pino'

export type Logger = pino.Logger

/** JSON logs on stdout; secrets are redacted by path wherever they might appear. */
export function createLogger(level: string = process.env.NODEMESH_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { svc: 'nodemesh-agent' },
    redact: { paths: ['*.password', '*.token', '*.privateKey', 'redisUrl'], censor: '[redacted]' },
  })
}
