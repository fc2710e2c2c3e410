/**
 * The CLI's registry backend with `--redis URL`: talks to the store directly. Endpoints
 * registered this way are static (no lease): they live until deregistered.
 */
import { policyNotFound, selectPolicies } from '../agent/api/policy-wire'
import { selectEndpoints, selectServices } from '../agent/api/select-records'
import { withDeadline } from '../agent/api/with-deadline'
import { buildSnapshot } from '../registry/build-snapshot'
import { NmError, isNmError } from '../registry/errors'
import { serviceKeyOf } from '../registry/names'
import type { RegistryStore } from '../registry/store'
import type { RegistryBackend } from './open-registry'

/** How long one CLI call may wait for the registry before it is called unreachable. */
const CALL_DEADLINE_MS = 8000

function bounded<T>(work: Promise<T>, description: string): Promise<T> {
  return withDeadline(work, CALL_DEADLINE_MS, () => new NmError('NM_REGISTRY_UNREACHABLE',
    `the registry at ${description} did not answer within ${CALL_DEADLINE_MS / 1000}s: check that it is up and reachable`))
}

export async function openStoreBackend(url: string): Promise<RegistryBackend> {
  const { openStore, redactUrl } = require('../registry/open-store') as typeof import('../registry/open-store')
  const store = await bounded(openStore(url, { role: 'cli' }), redactUrl(url))
  return storeBackend(store)
}

export function storeBackend(store: RegistryStore): RegistryBackend {
  const d = <T>(p: Promise<T>) => bounded(p, store.description)
  const snapshot = async () => buildSnapshot(await d(store.load())).snapshot
  return {
    description: store.description,
    createService: (input) => d(store.createService(input)),
    deleteService: (namespace, name) => d(store.deleteService(namespace, name)),
    listServices: async (namespace) => selectServices(await snapshot(), namespace),
    registerEndpoint: async (input) => {
      if (!input.node) {
        throw new NmError('NM_BAD_ARGUMENT', 'with --redis, register needs --node NODE (the host the endpoint runs on)')
      }
      return d(store.registerEndpoint({
        service: serviceKeyOf(input.service), node: input.node, address: input.address, ports: input.ports,
        ...(input.weight !== undefined ? { weight: input.weight } : {}),
        ...(input.labels !== undefined ? { labels: input.labels } : {}),
        ...(input.health !== undefined ? { health: input.health } : {}),
      }))
    },
    deregisterEndpoint: (service, id) => d(store.deregisterEndpoint(serviceKeyOf(service), id)),
    listEndpoints: async (service) => selectEndpoints(await snapshot(), serviceKeyOf(service)),
    getMesh: () => d(store.getMesh()),
    initMesh: (config) => d(store.initMesh(config)),
    putPolicy: async (policy) => { await d(store.putRecord('policy', policy)); return policy },
    deletePolicy: (name) => d(store.deleteRecord('policy', name)).catch((err: unknown) => {
      throw isNmError(err, 'NM_NOT_FOUND') ? policyNotFound(name) : err
    }),
    listPolicies: async () => selectPolicies(await snapshot()),
    close: () => store.close(),
  }
}
