/** An embedded registry file with `web` (namespace prod, service account web-sa) on node-a. */
import path from 'node:path'
import { storeLookup, type RegistryLookup } from '../../ca/registry-lookup'
import { EmbeddedStore } from '../../registry/embedded-store'
import type { RegistryStore } from '../../registry/store'

export const WEB_ID = 'spiffe://nodemesh.local/ns/prod/sa/web-sa'
export const API_ID = 'spiffe://nodemesh.local/ns/prod/sa/api'

export async function registryWithWeb(dir: string): Promise<{ store: RegistryStore; lookup: RegistryLookup }> {
  const store = await EmbeddedStore.open(path.join(dir, 'registry.json'))
  const http = [{ name: 'http', port: 80, protocol: 'http' as const }]
  await store.createService({ name: 'web', namespace: 'prod', ports: http, serviceAccount: 'web-sa' })
  await store.registerEndpoint({ service: 'prod/web', node: 'node-a', address: '10.0.0.2', ports: { 80: 8080 } })
  // api runs only on node-b: node-a must not get its identity.
  await store.createService({ name: 'api', namespace: 'prod', ports: http })
  await store.registerEndpoint({ service: 'prod/api', node: 'node-b', address: '10.0.0.3', ports: { 80: 8080 } })
  return { store, lookup: storeLookup(store) }
}
