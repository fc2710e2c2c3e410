/**
 * Capture mode for real, inside network namespaces made for this test (the root namespace's
 * iptables are never touched): rules installed, reinstalled after a simulated SIGKILL and
 * removed; then connections to VIPs captured through OUTPUT (a host process) and PREROUTING
 * (a process in a second namespace, as a pod) and placed by SO_ORIGINAL_DST in the addon.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { installCaptureRules, removeCaptureRules } from '../../../agent/capture/iptables-rules'
import { jumpCount, parseNatState } from '../../../agent/capture/plan-iptables'
import { netnsUnavailable, runIn, spawnIn } from '../../helpers/netns'

const ROOT = path.resolve(__dirname, '../../..')
const FIXTURE = path.join(__dirname, 'fixtures', 'capture-child.ts')
const BUILT = fs.existsSync(path.join(ROOT, 'native', 'build', 'Release', 'original_dst.node'))
// The child runs TypeScript through the same loader tap gave this process.
const TS_ARGS = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
const skip = netnsUnavailable() ?? (spawnSync('iptables', ['-V']).status !== 0 ? 'iptables is not installed' : undefined)

const HOST = `nmcap-${process.pid}`
const POD = `nmcap-c-${process.pid}`
// Interface names are limited to 15 characters: 4 + a pid of at most 7 digits.
const DEV = { host: `nmch${process.pid}`, pod: `nmcp${process.pid}` }
const CIDR = '240.240.0.0/16'
const EXCLUDED_GID = 4242

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`)
}

function destroyNamespaces(): void {
  for (const ns of [HOST, POD]) {
    const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split('\n').map(Number).filter((p) => p > 0)
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    spawnSync('ip', ['netns', 'del', ns])
  }
}

/**
 * HOST and POD are joined by a veth pair. Each routes the VIP CIDR to the other (routable,
 * not local, as in capture mode); POD does not forward, so what HOST does not capture is lost.
 */
function createNamespaces(): void {
  destroyNamespaces()
  for (const ns of [HOST, POD]) { ip('netns', 'add', ns); ip('-n', ns, 'link', 'set', 'lo', 'up') }
  ip('link', 'add', DEV.host, 'netns', HOST, 'type', 'veth', 'peer', 'name', DEV.pod, 'netns', POD)
  ip('-n', HOST, 'addr', 'add', '10.253.0.1/24', 'dev', DEV.host)
  ip('-n', POD, 'addr', 'add', '10.253.0.2/24', 'dev', DEV.pod)
  ip('-n', HOST, 'link', 'set', DEV.host, 'up')
  ip('-n', POD, 'link', 'set', DEV.pod, 'up')
  ip('-n', POD, 'route', 'add', 'default', 'via', '10.253.0.1')
  ip('-n', HOST, 'route', 'add', CIDR, 'via', '10.253.0.2')
}

const command = ['ip', 'netns', 'exec', HOST, 'iptables']

async function natRules(ns = HOST, extra: string[] = []): Promise<string> {
  const r = await runIn(ns, 'iptables', ['-w', '-t', 'nat', '-S', ...extra])
  if (r.code !== 0) throw new Error(`iptables -S in ${ns}: ${r.stderr}`)
  return r.stdout
}

const CLIENT = `
const [host, port, gid] = process.argv.slice(1)
if (gid) process.setgid(Number(gid))
let data = ''
const s = require('net').connect(Number(port), host)
s.setEncoding('utf8').on('data', (d) => { data += d })
s.on('error', (e) => { console.log(JSON.stringify({ data, error: e.code || e.message })); process.exit(0) })
s.on('close', () => { console.log(JSON.stringify({ data })); process.exit(0) })
s.setTimeout(1500, () => { console.log(JSON.stringify({ data, error: 'timeout' })); process.exit(0) })
`

async function connectFrom(ns: string, host: string, port: number, gid?: number): Promise<{ data: string; error?: string }> {
  const r = await runIn(ns, process.execPath, ['-e', CLIENT, host, String(port), ...(gid !== undefined ? [String(gid)] : [])])
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { data: string; error?: string }
}

t.test('capture rules and the addon inside network namespaces', { skip: skip ?? false }, async (t) => {
  t.teardown(destroyNamespaces)
  createNamespaces()

  t.test('install, reinstall after a SIGKILL, remove', async (t) => {
    const first = await installCaptureRules({ vipCidr: CIDR, exclude: { gid: EXCLUDED_GID }, command })
    t.equal(first.replacedLeftovers, false)
    let state = parseNatState(await natRules())
    t.equal(jumpCount(state, 'OUTPUT', 'NODEMESH-OUTPUT'), 1)
    t.equal(jumpCount(state, 'PREROUTING', 'NODEMESH-PREROUTING'), 1)
    const redirect = ['-d', CIDR, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15001']
    t.same(state.rules.filter((r) => r.chain === 'NODEMESH-OUTPUT').map((r) => r.spec),
      [['-m', 'owner', '--gid-owner', String(EXCLUDED_GID), '-j', 'RETURN'], redirect])
    t.same(state.rules.filter((r) => r.chain === 'NODEMESH-PREROUTING').map((r) => r.spec), [redirect])

    // The agent was killed: remove() never ran. An older version also left an extra jump.
    await runIn(HOST, 'iptables', ['-w', '-t', 'nat', '-A', 'OUTPUT', '-j', 'NODEMESH-OUTPUT'])
    const second = await installCaptureRules({ vipCidr: CIDR, exclude: { gid: EXCLUDED_GID }, command })
    t.equal(second.replacedLeftovers, true)
    const again = await natRules()
    state = parseNatState(again)
    t.equal(jumpCount(state, 'OUTPUT', 'NODEMESH-OUTPUT'), 1, 'still one jump from OUTPUT')
    t.equal(jumpCount(state, 'PREROUTING', 'NODEMESH-PREROUTING'), 1, 'still one jump from PREROUTING')
    t.equal(again.split('\n').filter((l) => l.includes('REDIRECT')).length, 2, 'one REDIRECT per chain')

    await second.remove()
    await second.remove()
    const after = await natRules()
    t.notMatch(after, /NODEMESH/, 'chains and jumps gone')
    await removeCaptureRules({ command })
    t.notMatch(await natRules(), /NODEMESH/)
  })

  t.test('without CAP_NET_ADMIN: says what is missing, changes nothing', async (t) => {
    const script = `process.setgid(65534); process.setuid(65534)
require(${JSON.stringify(path.join(ROOT, 'agent/capture/iptables-rules.ts'))}).installCaptureRules({ vipCidr: '${CIDR}' })
  .then(() => console.log('installed'), (e) => console.log(e.message))`
    const r = await runIn(HOST, process.execPath, [...TS_ARGS, '-e', script])
    t.equal(r.stdout.trim(), 'NM_CAPTURE_NO_PRIVILEGE: capture mode needs root or CAP_NET_ADMIN: run as root, or give the binary the capability, or use bind mode without --capture')
    t.notMatch(await natRules(), /NODEMESH/)
  })

  t.test('connections to VIPs are captured with their original destination', { skip: BUILT ? false : 'native addon not built (npx node-gyp rebuild -C native)' }, async (t) => {
    const rules = await installCaptureRules({ vipCidr: CIDR, exclude: { gid: EXCLUDED_GID }, command })
    t.teardown(() => rules.remove())
    const child: ChildProcess = spawnIn(HOST, process.execPath, [...TS_ARGS, FIXTURE, '15001'])
    t.teardown(() => { child.kill('SIGKILL') })
    const lines: Array<Record<string, unknown>> = []
    let buf = ''
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>)
        buf = buf.slice(nl + 1)
      }
    })
    const waitFor = async (what: string, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      for (let i = 0; i < 300; i++) {
        const hit = lines.find(pred)
        if (hit) return hit
        if (child.exitCode !== null) break
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`capture child never reported ${what}: ${JSON.stringify(lines)} ${stderr}`)
    }
    t.equal((await waitFor('ready', (l) => 'ready' in l)).ready, 15001)

    t.same(await connectFrom(HOST, '240.240.0.7', 8080), { data: 'captured 240.240.0.7:8080' }, 'a host process, through OUTPUT')
    t.same(await waitFor('the OUTPUT capture', (l) => l.captured === '240.240.0.7:8080'), { captured: '240.240.0.7:8080', from: '10.253.0.1' })

    t.same(await connectFrom(POD, '240.240.0.9', 443), { data: 'captured 240.240.0.9:443' }, 'a pod, through PREROUTING')
    t.same(await waitFor('the PREROUTING capture', (l) => l.captured === '240.240.0.9:443'), { captured: '240.240.0.9:443', from: '10.253.0.2' })

    t.same(await connectFrom(HOST, '127.0.0.1', 15001), { data: '', error: 'ECONNRESET' }, 'a direct connection names no service: reset')
    t.match(await waitFor('the refusal', (l) => 'refused' in l), { refused: /not redirected/ })

    // The excluded group (the agent's own upstream connections) is never captured: the
    // connection goes to POD, which drops it; the RETURN rule counted it.
    const excluded = await connectFrom(HOST, '240.240.0.7', 8080, EXCLUDED_GID)
    t.equal(excluded.data, '', 'not answered by the capture listener')
    const counted = /--gid-owner 4242 -c (\d+) /.exec(await natRules(HOST, ['NODEMESH-OUTPUT', '-v']))
    t.ok(Number(counted?.[1] ?? 0) >= 1, 'the exclusion rule matched the connection')
    t.equal(lines.filter((l) => 'captured' in l).length, 2, 'the listener saw only the two captured connections')
  })
})
