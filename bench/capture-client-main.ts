/**
 * Client programs of the capture suite, run as their own process so they can run inside a
 * namespace (`ip netns exec NS node capture-client-main.js ...`): the bench process itself
 * cannot enter one. Each prints one JSON line.
 *   iperf HOST PORT SECONDS   one iperf3 run (iperf-client.ts)
 *   loop HOST PORT SECONDS    the one-at-a-time connection loop (connection-loop.ts)
 *   probe HOST PORT SECONDS   until one HTTP/1.0 exchange gets 200, or the time is up
 *   serve                     reads such commands (iperf, loop) from stdin, one per line, and
 *                             answers each with its JSON line: one warm process for a whole run
 */
import readline from 'node:readline'
import { connectionLoop, oneExchange } from './connection-loop'
import { runIperf } from './iperf-client'

async function command(argv: readonly string[]): Promise<unknown> {
  const [cmd, host, portText, secondsText] = argv
  const target = { host: host ?? '', port: Number(portText) }
  const seconds = Number(secondsText)
  if (!host || !Number.isInteger(target.port) || !(seconds > 0)) throw new Error('usage: iperf|loop|probe HOST PORT SECONDS')
  switch (cmd) {
    case 'iperf': return runIperf(target, seconds)
    case 'loop': return connectionLoop(target, seconds)
    case 'probe': {
      const deadline = Date.now() + seconds * 1000
      for (;;) {
        const err = await oneExchange(target)
        if (err === undefined) return { ok: true }
        if (Date.now() > deadline) return { ok: false, error: err }
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    default: throw new Error(`unknown command ${cmd ?? ''}`)
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))
const fail = (err: unknown): void => { console.error(message(err)); process.exit(1) }

/** Commands one after another; an error answers its line with {"error": ...} and the session goes on. */
async function serve(): Promise<void> {
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue
    const answer = await command(line.trim().split(/\s+/)).catch((err: unknown) => ({ error: message(err) }))
    process.stdout.write(JSON.stringify(answer) + '\n')
  }
}

const argv = process.argv.slice(2)
if (argv[0] === 'serve') {
  serve().catch(fail)
} else {
  command(argv).then((r) => { console.log(JSON.stringify(r)) }, fail)
}
