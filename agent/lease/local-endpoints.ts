/**
 * The endpoints registered through this agent, remembered in the state directory so that the
 * agent can re-assert them when its lease lapsed (a long partition, a restart after the TTL),
 * as Consul's agent re-syncs its local services.
 */
import fs from 'node:fs/promises'
import type { Endpoint } from '../../registry/records'
import { writeFileAtomic } from '../../registry/atomic-write'
import type { RegisterEndpointInput } from '../../registry/store'

export class LocalEndpoints {
  private constructor(private readonly file: string, private readonly entries: Map<string, RegisterEndpointInput>) {}

  static async open(file: string): Promise<LocalEndpoints> {
    const entries = new Map<string, RegisterEndpointInput>()
    try {
      const parsed: unknown = JSON.parse(await fs.readFile(file, 'utf8'))
      if (Array.isArray(parsed)) {
        for (const e of parsed as RegisterEndpointInput[]) if (e && typeof e.id === 'string') entries.set(e.id, e)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    return new LocalEndpoints(file, entries)
  }

  all(): RegisterEndpointInput[] {
    return [...this.entries.values()]
  }

  async add(ep: Endpoint): Promise<void> {
    const { id, service, node, address, ports, weight, labels, health, lease } = ep
    this.entries.set(id, { id, service, node, address, ports, weight, labels, health, lease })
    await this.save()
  }

  async remove(id: string): Promise<void> {
    if (this.entries.delete(id)) await this.save()
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(this.all(), null, 2)}\n`)
  }
}
