import t from 'tap'
import { compareStreamIds, parseChangeEntries, streamGap } from '../../registry/redis-change-stream'

/** A flat XINFO STREAM reply as Redis 7 sends it (fields this module does not read included). */
function info(o: { length: number; last: string; first?: string }): unknown[] {
  return [
    'length', o.length, 'radix-tree-keys', 1, 'radix-tree-nodes', 2, 'last-generated-id', o.last,
    'max-deleted-entry-id', '0-0', 'entries-added', o.length, 'recorded-first-entry-id', o.first ?? '0-0',
    'groups', 0, 'first-entry', o.first ? [o.first, ['rev', '1', 'changes', '[]']] : null,
    'last-entry', o.length > 0 ? [o.last, ['rev', '1', 'changes', '[]']] : null,
  ]
}

t.test('compareStreamIds orders by time, then sequence, beyond 2^53', async (t) => {
  const cases: [string, string, number][] = [
    ['1-0', '1-0', 0], ['1-0', '2-0', -1], ['2-0', '1-5', 1], ['5-1', '5-10', -1],
    ['9007199254740993-0', '9007199254740992-0', 1], ['0-0', '0-1', -1],
  ]
  for (const [a, b, want] of cases) t.equal(compareStreamIds(a, b), want, `${a} vs ${b}`)
})

t.test('streamGap tells when the feed cannot continue from a cursor', async (t) => {
  const cases: { name: string; info: unknown[] | undefined; cursor: string; want: RegExp | undefined }[] = [
    { name: '0-0 reads everything there is', info: info({ length: 3, last: '30-0', first: '10-0' }), cursor: '0-0', want: undefined },
    { name: '0-0 on a missing stream', info: undefined, cursor: '0-0', want: undefined },
    { name: 'cursor is the oldest entry', info: info({ length: 3, last: '30-0', first: '10-0' }), cursor: '10-0', want: undefined },
    { name: 'cursor is the newest entry', info: info({ length: 3, last: '30-0', first: '10-0' }), cursor: '30-0', want: undefined },
    { name: 'cursor entry trimmed', info: info({ length: 2, last: '30-0', first: '20-0' }), cursor: '10-0', want: /trimmed/ },
    { name: 'all entries trimmed after the cursor', info: info({ length: 0, last: '30-0' }), cursor: '10-0', want: /trimmed/ },
    { name: 'all trimmed, cursor was the last', info: info({ length: 0, last: '30-0' }), cursor: '30-0', want: undefined },
    { name: 'stream deleted', info: undefined, cursor: '10-0', want: /missing/ },
    { name: 'cursor ahead of the stream (reset)', info: info({ length: 1, last: '5-0', first: '5-0' }), cursor: '10-0', want: /ahead/ },
  ]
  for (const c of cases) {
    const got = streamGap(c.info, c.cursor)
    if (c.want) t.match(got, c.want, c.name)
    else t.equal(got, undefined, c.name)
  }
})

t.test('parseChangeEntries turns entries into events and refuses malformed ones', async (t) => {
  const put = { op: 'put', kind: 'service', id: 'default/web', value: '{}' }
  const ok = parseChangeEntries([
    ['10-0', ['rev', '4', 'changes', JSON.stringify([put])]],
    ['11-0', ['changes', JSON.stringify([{ op: 'delete', kind: 'endpoint', id: 'ep-1' }, { op: 'mesh', value: '{}' }]), 'rev', '5']],
  ], '9-0')
  t.same(ok, {
    type: 'events',
    cursor: '11-0',
    events: [
      { revision: 4, changes: [put] },
      { revision: 5, changes: [{ op: 'delete', kind: 'endpoint', id: 'ep-1' }, { op: 'mesh', value: '{}' }] },
    ],
  })
  t.same(parseChangeEntries([], '9-0'), { type: 'events', events: [], cursor: '9-0' }, 'no entries keep the cursor')

  const bad: [string, string[]][] = [
    ['no rev', ['changes', JSON.stringify([put])]],
    ['rev zero', ['rev', '0', 'changes', JSON.stringify([put])]],
    ['not JSON', ['rev', '1', 'changes', '[{']],
    ['empty changes', ['rev', '1', 'changes', '[]']],
    ['unknown op', ['rev', '1', 'changes', JSON.stringify([{ ...put, op: 'upsert' }])]],
    ['unknown kind', ['rev', '1', 'changes', JSON.stringify([{ ...put, kind: 'widget' }])]],
    ['put without value', ['rev', '1', 'changes', JSON.stringify([{ op: 'put', kind: 'node', id: 'n1' }])]],
    ['mesh without value', ['rev', '1', 'changes', JSON.stringify([{ op: 'mesh' }])]],
  ]
  for (const [name, fields] of bad) {
    t.same(parseChangeEntries([['10-0', ['rev', '1', 'changes', JSON.stringify([put])]], ['12-0', fields]], '9-0'),
      { type: 'resync', reason: 'malformed change entry 12-0' }, name)
  }
})
