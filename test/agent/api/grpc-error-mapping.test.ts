import t from 'tap'
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { NmError, type NmErrorCode } from '../../../registry/errors'
import { fromGrpcError, grpcStatusOf, toGrpcError } from '../../../agent/api/grpc-error-mapping'

const CODES: NmErrorCode[] = [
  'NM_BAD_ARGUMENT', 'NM_BAD_RECORD', 'NM_NOT_FOUND', 'NM_ALREADY_EXISTS', 'NM_VIP_EXHAUSTED', 'NM_REGISTRY_UNREACHABLE',
  'NM_AGENT_UNREACHABLE', 'NM_LEASE_EXPIRED', 'NM_STATE_DIR', 'NM_LISTEN_FAILED', 'NM_CONFLICT', 'NM_INTERNAL',
]

function asServiceError(reply: { code: status; details: string; metadata: Metadata }): ServiceError {
  return Object.assign(new Error(`${reply.code} ${reply.details}`), reply)
}

t.test('gRPC status per NmError code', async (t) => {
  t.equal(grpcStatusOf('NM_NOT_FOUND'), status.NOT_FOUND)
  t.equal(grpcStatusOf('NM_ALREADY_EXISTS'), status.ALREADY_EXISTS)
  t.equal(grpcStatusOf('NM_BAD_ARGUMENT'), status.INVALID_ARGUMENT)
  t.equal(grpcStatusOf('NM_REGISTRY_UNREACHABLE'), status.UNAVAILABLE)
  t.equal(grpcStatusOf('NM_VIP_EXHAUSTED'), status.RESOURCE_EXHAUSTED)
  t.equal(grpcStatusOf('NM_CONFLICT'), status.FAILED_PRECONDITION)
})

t.test('every NmError survives the round trip', async (t) => {
  for (const code of CODES) {
    const sent = new NmError(code, `something about ${code}: do this`)
    const back = fromGrpcError(asServiceError(toGrpcError(sent)), '/run/x.sock')
    t.equal(back.code, code)
    t.equal(back.message, sent.message, `${code} message unchanged`)
  }
})

t.test('without the trailer, the code in the details still counts', async (t) => {
  const back = fromGrpcError(asServiceError({ code: status.FAILED_PRECONDITION, details: 'NM_LEASE_EXPIRED: renew it', metadata: new Metadata() }), '/s')
  t.equal(back.code, 'NM_LEASE_EXPIRED')
  t.equal(back.message, 'NM_LEASE_EXPIRED: renew it')
})

t.test('failures to reach the agent', async (t) => {
  const down = fromGrpcError(asServiceError({ code: status.UNAVAILABLE, details: 'No connection established', metadata: new Metadata() }), '/run/a.sock')
  t.equal(down.code, 'NM_AGENT_UNREACHABLE')
  t.match(down.message, /no agent is listening on \/run\/a\.sock: start one with `nodemesh agent`/)
  const slow = fromGrpcError(asServiceError({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: new Metadata() }), '/run/a.sock')
  t.equal(slow.code, 'NM_AGENT_UNREACHABLE')
  t.match(slow.message, /did not answer in time/)
  const other = fromGrpcError(asServiceError({ code: status.NOT_FOUND, details: 'gone', metadata: new Metadata() }), '/s')
  t.equal(other.code, 'NM_NOT_FOUND', 'a bare gRPC status is mapped by category')
})

t.test('a plain Error becomes NM_INTERNAL', async (t) => {
  const reply = toGrpcError(new TypeError('x is undefined'))
  t.equal(reply.code, status.INTERNAL)
  t.match(reply.details, /^NM_INTERNAL: the agent failed: x is undefined/)
  t.same(reply.metadata.get('nm-code'), ['NM_INTERNAL'])
})
