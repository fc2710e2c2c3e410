/**
 * `npm run bench`: the L7 suite (nodemesh against a direct connection, HAProxy and nginx), then
 * the tunnel suite (nodemesh's tunnel between two loopback hosts against stunnel and a direct
 * connection), then the capture suite (root; skipped with the reason without it): a captured
 * connection against bind mode, with and without connection tracking, and stunnel.
 * Each suite's processes are stopped before the next starts, so neither measures the other's
 * leftovers. A missed target is reported, never turned into a failing exit code.
 */
import path from 'node:path'
import { parseBenchOptions } from './bench-options'
import { log } from './bench-log'
import { removeBenchNamespaces } from './bench-netns'
import { runCaptureSuite } from './capture-suite'
import { runL7Suite } from './l7-suite'
import { cleanupAll, killAllNow } from './processes'
import { runTunnelSuite } from './tunnel-suite'

const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results')

async function main(): Promise<void> {
  const opts = parseBenchOptions(process.argv.slice(2), path.join(RESULTS, 'latest.json'), path.join(RESULTS, 'tunnel-latest.json'),
    path.join(RESULTS, 'capture-latest.json'))
  for (const suite of opts.suites) {
    if (suite === 'l7') {
      if (opts.arms.length === 0) { log('l7: no arm selected by --only, skipped'); continue }
      log('suite l7')
      await runL7Suite(opts)
    } else if (suite === 'capture') {
      if (opts.captureArms.length === 0) { log('capture: no arm selected by --only, skipped'); continue }
      log('suite capture')
      await runCaptureSuite(opts)
    } else {
      if (opts.tunnelArms.length === 0) { log('tunnel: no arm selected by --only, skipped'); continue }
      log('suite tunnel')
      await runTunnelSuite(opts)
    }
    await cleanupAll()
    removeBenchNamespaces()
  }
}

let stopping = false
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    await cleanupAll()
    removeBenchNamespaces()
  }
  process.exit(code)
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => { log(`${sig}: stopping everything`); void shutdown(130) })
}
process.on('exit', () => { killAllNow(); removeBenchNamespaces() })

main().then(() => shutdown(0), (err: unknown) => {
  console.error(`[bench] error: ${err instanceof Error ? err.message : String(err)}`)
  void shutdown(1)
})
