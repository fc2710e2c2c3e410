/**
 * `node dist/bench/summarize-profile.js FILE.cpuprofile [N]`: the top self-time functions and
 * files of a V8 CPU profile (as written by `run-bench --profile-dir`), so hot spots can be
 * read without opening DevTools.
 */
import fs from 'node:fs'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

function main(): void {
  const [file, topArg] = process.argv.slice(2)
  if (!file) { console.error('usage: summarize-profile FILE.cpuprofile [N]'); process.exit(2) }
  const top = Number(topArg ?? 25)
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  // Self time per node: each sample's time delta goes to the node on top of the stack.
  const selfUs = new Map<number, number>()
  let total = 0
  prof.samples.forEach((id, i) => {
    const dt = Math.max(prof.timeDeltas[i] ?? 0, 0)
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
    total += dt
  })
  const parent = new Map<number, number>()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let idle = 0
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame
    if (!cf) continue
    if (cf.functionName === '(idle)') { idle += us; continue }
    const where = shortUrl(cf.url)
    byFunction.set(keyOf(cf), (byFunction.get(keyOf(cf)) ?? 0) + us)
    byFile.set(where || cf.functionName, (byFile.get(where || cf.functionName) ?? 0) + us)
    // Inclusive: once per distinct function on the stack, so recursion is not counted twice.
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame
      if (!f || !f.url) continue
      const k = keyOf(f)
      if (!seen.has(k)) { seen.add(k); inclusive.set(k, (inclusive.get(k) ?? 0) + us) }
    }
  }
  const busy = total - idle
  console.log(`${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle; % below are of the not-idle time`)
  print('self time by function', byFunction, busy, top)
  print('self time by file', byFile, busy, top)
  print('inclusive time by function (JS with a source file)', inclusive, busy, top)
}

function keyOf(cf: ProfileNode['callFrame']): string {
  return `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`
}

function print(title: string, m: Map<string, number>, total: number, top: number): void {
  console.log(`\n${title}:`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
  }
}

/** Project files relative to the repo, node internals as `node:...`, others as-is. */
function shortUrl(url: string): string {
  if (!url) return ''
  const i = url.indexOf('/dist/')
  if (i >= 0) return url.slice(i + 1)
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '')
}

main()
