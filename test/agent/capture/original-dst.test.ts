import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { findPackageRoot, loadOriginalDst, socketFd } from '../../../agent/capture/original-dst'
import { NmError } from '../../../registry/errors'

const ROOT = path.resolve(__dirname, '../../..')
const BUILT = fs.existsSync(path.join(ROOT, 'native', 'build', 'Release', 'original_dst.node'))

t.test('the package root is found from the source tree and from dist/', async (t) => {
  t.equal(findPackageRoot(path.join(ROOT, 'agent', 'capture')), ROOT)
  t.equal(findPackageRoot(path.join(ROOT, 'dist', 'agent', 'capture')), ROOT)
  t.equal(findPackageRoot(os.tmpdir()), undefined)
})

t.test('without a built addon capture mode gets NM_CAPTURE_UNAVAILABLE with the way to build it', async (t) => {
  // A package root whose native/ has the loader but no build output.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-native-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  fs.mkdirSync(path.join(root, 'native'))
  fs.copyFileSync(path.join(ROOT, 'native', 'index.js'), path.join(root, 'native', 'index.js'))
  const result = loadOriginalDst({ packageRoot: root })
  t.ok(result instanceof NmError)
  t.equal((result as NmError).code, 'NM_CAPTURE_UNAVAILABLE')
  t.match((result as NmError).message, /was not built .*build[/]Release[/]original_dst\.node.*npm rebuild.*node-gyp rebuild -C native/)
  const corrupt = path.join(root, 'native', 'build', 'Release')
  fs.mkdirSync(corrupt, { recursive: true })
  fs.writeFileSync(path.join(corrupt, 'original_dst.node'), 'not a shared object')
  const broken = loadOriginalDst({ packageRoot: root })
  t.match((broken as NmError).message, /^NM_CAPTURE_UNAVAILABLE: the native addon for capture mode failed to load/)
})

t.test('the built addon reads sockets and reports errno text', { skip: BUILT ? false : 'native addon not built (npx node-gyp rebuild -C native)' }, async (t) => {
  const read = loadOriginalDst()
  if (read instanceof Error) throw read
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve))
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  client.on('error', () => undefined)
  const socket = await accepted
  t.type(socketFd(socket), 'number')
  // Not redirected: no NAT entry (ENOENT), or, where conntrack tracks it, its own destination.
  try {
    const dst = read(socket)
    t.same(dst, { address: '127.0.0.1', port: socket.localPort })
  } catch (err) {
    t.match((err as Error).message, /^getsockopt\(SO_ORIGINAL_DST\): No such file or directory \(ENOENT\)$/)
    t.equal((err as NodeJS.ErrnoException).code, 'ENOENT')
  }
  socket.destroy()
  client.destroy()
  t.equal(socketFd(socket), undefined, 'a destroyed socket has no descriptor')
  t.throws(() => read(socket), /no file descriptor/)
  // The raw addon: argument checks and errno for a descriptor that is not a socket.
  const addon = require(path.join(ROOT, 'native')).load() as { getOriginalDst(fd: unknown): unknown }
  t.throws(() => addon.getOriginalDst('3'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => addon.getOriginalDst(-1), { name: 'RangeError' })
  const fd = fs.openSync(__filename, 'r')
  t.teardown(() => fs.closeSync(fd))
  t.throws(() => addon.getOriginalDst(fd), { code: 'ENOTSOCK', message: /Socket operation on non-socket/ })
})
