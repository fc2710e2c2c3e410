/**
 * The Lua scripts behind every RedisStore write. One write = one script = one revision (INCR)
 * and one change-stream entry (XADD ... MAXLEN ~), so readers never see half a write.
 *
 * Scripts touch only keys passed in KEYS, so they run on Redis Cluster (all keys share the
 * prefix's hash tag). Per-node lease sets (`PREFIX lease:NODE`) cannot be known before the
 * script reads the endpoints, so scripts that may touch them take the lease keys they were
 * given as a KEYS tail and, when one is missing, change nothing and reply
 * `{'NEED', node...}`; `runWithLeaseKeys` then retries with those keys added.
 *
 * Replies: `{'OK', ...}` on success, `{'RETRY'}` when a value read before the script changed
 * under it (compare-and-set), or an error reply starting with an NmError code.
 */
import { createHash } from 'node:crypto'
import type Redis from 'ioredis'
import { NmError } from './errors'

export interface LuaScript {
  readonly name: string
  readonly source: string
  readonly sha: string
}

function script(name: string, body: string): LuaScript {
  const source = `${PRELUDE}\n${body}`
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function commit(rev_key, stream_key, maxlen, changes)
  local rev = redis.call('INCR', rev_key)
  redis.call('XADD', stream_key, 'MAXLEN', '~', maxlen, '*', 'rev', rev, 'changes', cjson.encode(changes))
  return rev
end
local function decode(raw)
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then return v end
  return nil
end
-- Lease keys handed in from KEYS[first..]; need() records the ones still missing.
local function lease_keys(first, prefix)
  local given, missing, seen = {}, {}, {}
  for i = first, #KEYS do given[KEYS[i]] = true end
  local function need(node)
    local key = prefix .. node
    if not given[key] and not seen[node] then
      seen[node] = true
      missing[#missing + 1] = node
    end
    return key
  end
  return need, missing
end
-- Deletes the endpoints held by one lease set whose record still names that lease.
local function reap_lease(endpoints_key, lease_key, node, changes)
  for _, id in ipairs(redis.call('SMEMBERS', lease_key)) do
    local raw = redis.call('HGET', endpoints_key, id)
    local ep = raw and decode(raw)
    if ep and ep.lease == node then
      redis.call('HDEL', endpoints_key, id)
      changes[#changes + 1] = { op = 'delete', kind = 'endpoint', id = id }
    end
  end
  redis.call('DEL', lease_key)
end
`

/**
 * KEYS: services, mesh, vips, vip-cursor, rev, changes.
 * ARGV: service id, service JSON without vip, mesh raw seen ('' = absent), mesh seen flag,
 * first host int, last host int, maxlen.
 */
export const CREATE_SERVICE = script('create-service', `
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 1 then
  return redis.error_reply('NM_ALREADY_EXISTS service ' .. id .. ' already exists: delete it first or pick another name')
end
local mesh = redis.call('GET', KEYS[2])
if (ARGV[4] == '1') ~= (mesh ~= false) or (mesh and mesh ~= ARGV[3]) then return { 'RETRY' } end
local lo, hi = tonumber(ARGV[5]), tonumber(ARGV[6])
local n = hi - lo + 1
local cur = tonumber(redis.call('GET', KEYS[4]) or '')
if not cur or cur < lo or cur > hi then cur = lo end
for i = 0, n - 1 do
  local c = lo + (cur - lo + i) % n
  local vip = string.format('%d.%d.%d.%d', math.floor(c / 16777216) % 256, math.floor(c / 65536) % 256,
    math.floor(c / 256) % 256, c % 256)
  if redis.call('HEXISTS', KEYS[3], vip) == 0 then
    local json = string.sub(ARGV[2], 1, -2) .. ',"vip":' .. cjson.encode(vip) .. '}'
    redis.call('HSET', KEYS[3], vip, id)
    local nxt = c + 1
    if nxt > hi then nxt = lo end
    redis.call('SET', KEYS[4], nxt)
    redis.call('HSET', KEYS[1], id, json)
    commit(KEYS[5], KEYS[6], ARGV[7], { { op = 'put', kind = 'service', id = id, value = json } })
    return { 'OK', json }
  end
end
return redis.error_reply('NM_VIP_EXHAUSTED every address of the mesh VIP range is taken (' .. n ..
  ' addresses): delete unused services or widen vipCidr with mesh init before creating services')
`)

/**
 * KEYS: services, endpoints, routes, defaults, vips, rev, changes, lease keys...
 * ARGV: service id, maxlen, lease key prefix.
 */
export const DELETE_SERVICE = script('delete-service', `
local id = ARGV[1]
local raw = redis.call('HGET', KEYS[1], id)
if not raw then
  return redis.error_reply('NM_NOT_FOUND service ' .. id .. ' does not exist: list services to check the name')
end
local need, missing = lease_keys(8, ARGV[3])
local doomed = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local ep = decode(all[i + 1])
  if ep and ep.service == id then
    local lk = false
    if type(ep.lease) == 'string' then lk = need(ep.lease) end
    doomed[#doomed + 1] = { all[i], lk }
  end
end
if #missing > 0 then return { 'NEED', unpack(missing) } end
local changes = {}
for _, d in ipairs(doomed) do
  redis.call('HDEL', KEYS[2], d[1])
  if d[2] then redis.call('SREM', d[2], d[1]) end
  changes[#changes + 1] = { op = 'delete', kind = 'endpoint', id = d[1] }
end
if redis.call('HDEL', KEYS[3], id) == 1 then changes[#changes + 1] = { op = 'delete', kind = 'route', id = id } end
if redis.call('HDEL', KEYS[4], id) == 1 then changes[#changes + 1] = { op = 'delete', kind = 'defaults', id = id } end
local svc = decode(raw)
if svc and type(svc.vip) == 'string' and redis.call('HGET', KEYS[5], svc.vip) == id then
  redis.call('HDEL', KEYS[5], svc.vip)
end
redis.call('HDEL', KEYS[1], id)
changes[#changes + 1] = { op = 'delete', kind = 'service', id = id }
commit(KEYS[6], KEYS[7], ARGV[2], changes)
return { 'OK' }
`)

/**
 * KEYS: services, endpoints, leases, rev, changes, lease keys...
 * ARGV: service id, service JSON validated against, endpoint id, endpoint JSON, lease node
 * ('' = static), maxlen, lease key prefix.
 */
export const REGISTER_ENDPOINT = script('register-endpoint', `
local svc = redis.call('HGET', KEYS[1], ARGV[1])
if not svc then
  return redis.error_reply('NM_NOT_FOUND service ' .. ARGV[1] .. ' does not exist: create it before registering endpoints')
end
if svc ~= ARGV[2] then return { 'RETRY' } end
local need, missing = lease_keys(6, ARGV[7])
local id, lease = ARGV[3], ARGV[5]
local new_lk = false
if lease ~= '' then
  local exp = redis.call('ZSCORE', KEYS[3], lease)
  if not exp or tonumber(exp) <= now_ms() then
    return redis.error_reply('NM_LEASE_EXPIRED the lease of node ' .. lease ..
      ' has expired or was never started: heartbeat the node, then register its endpoints again')
  end
  new_lk = need(lease)
end
local old_lk = false
local old = redis.call('HGET', KEYS[2], id)
local o = old and decode(old)
if o then
  if o.service ~= ARGV[1] then
    return redis.error_reply('NM_CONFLICT endpoint ' .. id .. ' belongs to service ' .. tostring(o.service) ..
      ': deregister it there first or use another id')
  end
  if type(o.lease) == 'string' then old_lk = need(o.lease) end
end
if #missing > 0 then return { 'NEED', unpack(missing) } end
if old_lk and old_lk ~= new_lk then redis.call('SREM', old_lk, id) end
if new_lk then redis.call('SADD', new_lk, id) end
redis.call('HSET', KEYS[2], id, ARGV[4])
commit(KEYS[4], KEYS[5], ARGV[6], { { op = 'put', kind = 'endpoint', id = id, value = ARGV[4] } })
return { 'OK' }
`)

/** KEYS: endpoints, rev, changes, lease keys... ARGV: service id, endpoint id, maxlen, lease key prefix. */
export const DEREGISTER_ENDPOINT = script('deregister-endpoint', `
local id = ARGV[2]
local raw = redis.call('HGET', KEYS[1], id)
local ep = raw and decode(raw)
-- An unreadable record cannot be attributed to a service; deleting it by id is still allowed.
if not raw or (ep and ep.service ~= ARGV[1]) then
  return redis.error_reply('NM_NOT_FOUND service ' .. ARGV[1] .. ' has no endpoint ' .. id .. ': list its endpoints to check the id')
end
local need, missing = lease_keys(4, ARGV[4])
local lk = false
if ep and type(ep.lease) == 'string' then lk = need(ep.lease) end
if #missing > 0 then return { 'NEED', unpack(missing) } end
if lk then redis.call('SREM', lk, id) end
redis.call('HDEL', KEYS[1], id)
commit(KEYS[2], KEYS[3], ARGV[3], { { op = 'delete', kind = 'endpoint', id = id } })
return { 'OK' }
`)

/**
 * KEYS: kind hash, services, rev, changes.
 * ARGV: kind, id, JSON, maxlen, '1' when the record hangs off an existing service.
 */
export const PUT_RECORD = script('put-record', `
if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
  return redis.error_reply('NM_NOT_FOUND service ' .. ARGV[2] .. ' does not exist: create it before adding its ' .. ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
commit(KEYS[3], KEYS[4], ARGV[4], { { op = 'put', kind = ARGV[1], id = ARGV[2], value = ARGV[3] } })
return { 'OK' }
`)

/** KEYS: kind hash, rev, changes. ARGV: kind, id, maxlen. */
export const DELETE_RECORD = script('delete-record', `
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
  return redis.error_reply('NM_NOT_FOUND no ' .. ARGV[1] .. ' ' .. ARGV[2] .. ': list them to check the name')
end
commit(KEYS[2], KEYS[3], ARGV[3], { { op = 'delete', kind = ARGV[1], id = ARGV[2] } })
return { 'OK' }
`)

/**
 * KEYS: mesh, services, vip-cursor, rev, changes.
 * ARGV: mesh raw seen, seen flag ('1' present), new JSON, old CIDR, new CIDR, maxlen.
 */
export const INIT_MESH = script('init-mesh', `
local mesh = redis.call('GET', KEYS[1])
if (ARGV[2] == '1') ~= (mesh ~= false) or (mesh and mesh ~= ARGV[1]) then return { 'RETRY' } end
if ARGV[4] ~= ARGV[5] then
  local n = redis.call('HLEN', KEYS[2])
  if n > 0 then
    return redis.error_reply('NM_CONFLICT cannot change vipCidr from ' .. ARGV[4] .. ' to ' .. ARGV[5] .. ' while ' .. n ..
      ' services exist: delete the services first, or keep the current vipCidr')
  end
  redis.call('DEL', KEYS[3])
end
redis.call('SET', KEYS[1], ARGV[3])
commit(KEYS[4], KEYS[5], ARGV[6], { { op = 'mesh', value = ARGV[3] } })
return { 'OK' }
`)

/**
 * KEYS: leases, lease:NODE, endpoints, rev, changes. ARGV: node, ttl ms, maxlen.
 * Replies {'OK', 1} when the lease was live and is renewed, {'OK', 0} when it had lapsed or
 * never existed (its endpoints are reaped first, in this same script).
 */
export const HEARTBEAT = script('heartbeat', `
local now = now_ms()
local exp = redis.call('ZSCORE', KEYS[1], ARGV[1])
local renewed = exp and tonumber(exp) > now
if not renewed then
  local changes = {}
  reap_lease(KEYS[3], KEYS[2], ARGV[1], changes)
  if #changes > 0 then commit(KEYS[4], KEYS[5], ARGV[3], changes) end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if renewed then return { 'OK', 1 } end
return { 'OK', 0 }
`)

/**
 * KEYS: leases, endpoints, rev, changes, lease keys... ARGV: maxlen, lease key prefix.
 * Replies {'OK', number of lapsed leases removed}.
 */
export const REAP_LEASES = script('reap-leases', `
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms())
local need, missing = lease_keys(5, ARGV[2])
local lks = {}
for i, node in ipairs(lapsed) do lks[i] = need(node) end
if #missing > 0 then return { 'NEED', unpack(missing) } end
local changes = {}
for i, node in ipairs(lapsed) do
  reap_lease(KEYS[2], lks[i], node, changes)
  redis.call('ZREM', KEYS[1], node)
end
if #changes > 0 then commit(KEYS[3], KEYS[4], ARGV[1], changes) end
return { 'OK', #lapsed }
`)

export type ScriptReply = { status: 'OK'; values: unknown[] } | { status: 'RETRY' } | { status: 'NEED'; nodes: string[] }

/** EVALSHA, falling back to EVAL when the server has not cached the script (restart, failover). */
export async function runScript(conn: Redis, s: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply> {
  let reply: unknown
  try {
    reply = await conn.evalsha(s.sha, keys.length, ...keys, ...args)
  } catch (err) {
    if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err
    reply = await conn.eval(s.source, keys.length, ...keys, ...args)
  }
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
    throw new NmError('NM_INTERNAL', `script ${s.name} returned an unexpected reply; report this as a bug`)
  }
  const [status, ...rest] = reply as [string, ...unknown[]]
  if (status === 'OK') return { status, values: rest }
  if (status === 'RETRY') return { status }
  if (status === 'NEED') return { status, nodes: rest.map(String) }
  throw new NmError('NM_INTERNAL', `script ${s.name} replied ${status}; report this as a bug`)
}

const MAX_ATTEMPTS = 10

/**
 * Runs a script, supplying the lease keys it asks for and re-running on RETRY (re-reading
 * what `prepare` computed). Gives up with NM_CONFLICT after a bounded number of attempts,
 * which only happens under a storm of concurrent writes to the same records.
 */
export async function runWithLeaseKeys(
  conn: Redis,
  s: LuaScript,
  prepare: () => Promise<{ keys: readonly string[]; args: readonly (string | number)[] }>,
  leaseKey: (node: string) => string,
): Promise<unknown[]> {
  const nodes = new Set<string>()
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { keys, args } = await prepare()
    const reply = await runScript(conn, s, [...keys, ...[...nodes].map(leaseKey)], args)
    if (reply.status === 'OK') return reply.values
    if (reply.status === 'NEED') reply.nodes.forEach((n) => nodes.add(n))
  }
  throw new NmError('NM_CONFLICT', `${s.name} kept racing concurrent writes; retry the command`)
}

