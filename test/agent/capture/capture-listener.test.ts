import net from 'node:net'
import pino from 'pino'
import t from 'tap'
import { decideCaptured, startCaptureListener } from '../../../agent/capture/capture-listener'
import type { OriginalDst } from '../../../agent/capture/original-dst'

const log = pino({ level: 'silent' })

t.test('decideCaptured: deliver under the original destination, refuse the unreadable and the direct', async (t) => {
  const local = { address: '127.0.0.1', port: 15001 }
  t.same(decideCaptured({ address: '240.240.0.7', port: 8080 }, local), { kind: 'deliver', vipPort: '240.240.0.7:8080' })
  t.same(decideCaptured({ address: '::ffff:240.240.0.7', port: 80 }, local), { kind: 'deliver', vipPort: '240.240.0.7:80' }, 'v4-mapped is unmapped')
  t.match(decideCaptured(new Error('getsockopt(SO_ORIGINAL_DST): No such file or directory (ENOENT)'), local), { kind: 'refuse', reason: /unreadable: getsockopt/ })
  t.match(decideCaptured({ address: '127.0.0.1', port: 15001 }, { address: '::ffff:127.0.0.1', port: 15001 }), { kind: 'refuse', reason: /not redirected/ })
  t.same(decideCaptured({ address: '127.0.0.1', port: 15002 }, local), { kind: 'deliver', vipPort: '127.0.0.1:15002' }, 'another port is a destination')
})

t.test('the listener hands sockets on under their original destination, resets what it cannot place', async (t) => {
  const answers: Array<OriginalDst | Error> = [{ address: '240.240.0.7', port: 8080 }, new Error('ENOENT')]
  const delivered: string[] = []
  const refused: string[] = []
  const listener = await startCaptureListener({
    address: '127.0.0.1', port: 0, log,
    originalDst: () => { const a = answers.shift(); if (a instanceof Error || a === undefined) throw a ?? new Error('none'); return a },
    onConnection: (socket, vipPort) => { delivered.push(vipPort); socket.end(`to ${vipPort}`) },
    onRefused: (reason) => refused.push(reason),
  })
  t.teardown(() => listener.close())
  const port = listener.address.port
  const exchange = (): Promise<{ data: string; error?: string }> => new Promise((resolve) => {
    let data = ''
    const s = net.connect(port, '127.0.0.1')
    s.setEncoding('utf8').on('data', (d: string) => { data += d })
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ data, error: e.code ?? e.message }))
    s.on('close', () => resolve({ data }))
  })
  t.same(await exchange(), { data: 'to 240.240.0.7:8080' })
  t.same(await exchange(), { data: '', error: 'ECONNRESET' }, 'unreadable destination: reset, not closed')
  t.same(delivered, ['240.240.0.7:8080'])
  t.match(refused, [/unreadable: ENOENT/])
  t.same(listener.stats(), { captured: 1, refused: 1 })
})

t.test('a port already taken is NM_LISTEN_FAILED', async (t) => {
  const first = await startCaptureListener({ address: '127.0.0.1', port: 0, log, originalDst: () => ({ address: '0.0.0.0', port: 0 }), onConnection: () => undefined })
  t.teardown(() => first.close())
  await t.rejects(startCaptureListener({ address: '127.0.0.1', port: first.address.port, log, originalDst: () => ({ address: '0.0.0.0', port: 0 }), onConnection: () => undefined }),
    { code: 'NM_LISTEN_FAILED', message: /EADDRINUSE.*another agent/ })
})
