import t from 'tap'
import { isNmError } from '../../registry/errors'
import { DEFAULT_MESH_CONFIG, type Service } from '../../registry/records'
import {
  validateCreateService, validateHeartbeat, validateMeshInput, validatePutRecord, validateRegisterEndpoint,
} from '../../registry/validate-input'

type Json = { [k: string]: any } // eslint-disable-line @typescript-eslint/no-explicit-any

const NOW = '2025-01-02T03:04:05.000Z'
const GOOD: { [kind: string]: Json } = {
  service: { name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, protocol: 'http' }, { name: 'grpc', port: 9090, protocol: 'grpc' }], vip: '127.77.0.9', serviceAccount: 'web-sa', createdAt: NOW },
  policy: { name: 'allow-frontend', target: 'shop/web', action: 'ALLOW', from: { identities: ['spiffe://nodemesh.local/ns/shop/sa/frontend'], namespaces: ['shop'], services: ['shop/frontend'] }, to: { ports: [80], methods: ['GET', 'POST'], paths: ['/api/*'] } },
  route: { service: 'shop/web', rules: [{ matches: [{ pathPrefix: '/v2', method: 'GET', headers: { 'x-canary': '1' } }], backends: [{ service: 'shop/web-v2', weight: 90 }, { service: 'shop/web', weight: 10 }], timeoutMs: 2000, retries: { attempts: 2, perTryTimeoutMs: 500, on: ['5xx', 'connect-failure'] } }] },
}

t.test('validateMeshInput merges and checks', async (t) => {
  t.same(validateMeshInput(DEFAULT_MESH_CONFIG, { defaultDeny: true }), { ...DEFAULT_MESH_CONFIG, defaultDeny: true })
  t.throws(() => validateMeshInput(DEFAULT_MESH_CONFIG, { vipCidr: '10.0.0.0/31' }), /NM_BAD_ARGUMENT: mesh config: vipCidr/)
})

t.test('validateCreateService', async (t) => {
  t.doesNotThrow(() => validateCreateService({ name: 'web', namespace: 'default', ports: [{ name: 'http', port: 80, protocol: 'http' }] }))
  const cases: Array<[Json, RegExp]> = [
    [{ name: 'Web', namespace: 'default', ports: [{ name: 'http', port: 80, protocol: 'http' }] }, /name: must be a DNS label/],
    [{ name: 'web', namespace: 'default', ports: [] }, /ports: must not be empty/],
    [{ name: 'web', namespace: 'default', ports: [{ name: 'a', port: 80, protocol: 'http' }, { name: 'b', port: 80, protocol: 'tcp' }] }, /ports\[1\]\.port: duplicates/],
    [{ name: 'web', namespace: 'default', ports: [{ name: 'a', port: 80, protocol: 'http' }], serviceAccount: 'A B' }, /serviceAccount/],
  ]
  for (const [input, re] of cases) {
    try {
      validateCreateService(input as never)
      t.fail(`accepted ${JSON.stringify(input)}`)
    } catch (err) {
      t.ok(isNmError(err, 'NM_BAD_ARGUMENT'), 'NM_BAD_ARGUMENT')
      t.match((err as Error).message, re)
    }
  }
})

t.test('validateRegisterEndpoint checks the ports against the service', async (t) => {
  const service = GOOD.service as Service
  const input = { service: 'shop/web', node: 'node-1', address: '10.0.0.7', ports: { '80': 8080, '9090': 9091 } }
  t.doesNotThrow(() => validateRegisterEndpoint(input, service))
  const expectErr = (what: string, inp: Json, code: 'NM_BAD_ARGUMENT' | 'NM_BAD_RECORD', re: RegExp): void => {
    try {
      validateRegisterEndpoint(inp as never, service)
      t.fail(`${what}: accepted`)
    } catch (err) {
      t.ok(isNmError(err, code), `${what}: ${code}`)
      t.match((err as Error).message, re, what)
    }
  }
  expectErr('unknown port', { ...input, ports: { '80': 8080, '9090': 1, '443': 8443 } }, 'NM_BAD_RECORD', /ports 443 are not ports of the service/)
  expectErr('missing port', { ...input, ports: { '80': 8080 } }, 'NM_BAD_RECORD', /missing 9090/)
  expectErr('wrong service', { ...input, service: 'shop/api' }, 'NM_BAD_ARGUMENT', /service: must be shop\/web/)
  expectErr('bad address', { ...input, address: 'x' }, 'NM_BAD_ARGUMENT', /address: must be an IP/)
  expectErr('bad weight', { ...input, weight: 0 }, 'NM_BAD_ARGUMENT', /weight: must be 1\.\.1000/)
  expectErr('bad id', { ...input, id: 'a b' }, 'NM_BAD_ARGUMENT', /id: must be/)
})

t.test('validatePutRecord', async (t) => {
  const route = validatePutRecord('route', GOOD.route as never)
  t.same(route, GOOD.route)
  try {
    validatePutRecord('policy', { ...GOOD.policy, action: 'MAYBE' } as never)
    t.fail('accepted a bad policy')
  } catch (err) {
    t.ok(isNmError(err, 'NM_BAD_RECORD'))
    t.match((err as Error).message, /policy record: action: must be one of ALLOW, DENY/)
  }
})

t.test('validateHeartbeat', async (t) => {
  t.doesNotThrow(() => validateHeartbeat('Node_1.example', 60_000))
  t.doesNotThrow(() => validateHeartbeat('n1', 24 * 3600_000))
  for (const [node, ttl] of [['node 1', 1000], ['-n', 1000], ['n1', 0], ['n1', -5], ['n1', 1.5], ['n1', 24 * 3600_000 + 1]] as const) {
    t.throws(() => validateHeartbeat(node, ttl), { code: 'NM_BAD_ARGUMENT' }, `${node} ${ttl}`)
  }
})
