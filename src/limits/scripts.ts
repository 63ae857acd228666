import type { Cluster, Redis } from 'ioredis';

// Lua scripts, registered with ioredis defineCommand: ioredis sends the script body once per
// connection (EVAL) and EVALSHA after that, re-sending on NOSCRIPT, so each call is one command
// and one round trip. Every key one script call touches shares one hash tag (the account's for
// the limits check, the API key's for concurrency slots), so the scripts also run on Redis Cluster.

export type LimitsClient = Redis | Cluster;

/**
 * Helpers of the scripts that keep a limits hash (redis-keys limitsHashKey).
 *
 * What a script costs Redis, counted in instructions (valgrind on a private redis-server), is
 * mostly not its calls but its Lua work on numbers and text: reading a number from text (tonumber)
 * costs about two thirds of a GET, writing one as text with string.format('%d') about one GET, a
 * number handed to redis.call as it is (printed as a float) or left in table.concat several, and
 * ordering two strings with < or > (strcoll, in Redis's locale) more than a GET; each argument
 * costs a third of one. So the scripts take from the caller as text what it can work out itself
 * (the TAT of an idle window, now + interval; the hash's expiry, rounded up to a minute), compare
 * text only for equality, format what they write with '%d', and answer with the values as they
 * read them: the caller knows the increments and works out what they became.
 *
 * `writeHash` writes fields of a hash and keeps it alive as long as its latest state needs
 * (`expires`, unix ms by the caller's clock: text from the caller, or a number worked out here for
 * a window whose TAT runs ahead of now). The expiry given last is kept in field 'x', read with the
 * other fields; while the caller asks for the same one (a whole minute, or the quota period's end)
 * nothing but the fields is written, so a hot key gets one PEXPIRE a minute, not one per request.
 * Every writer of a limits hash goes through here, so a hash that exists has a TTL.
 */
const HASH_HELPERS_LUA = `
local function writeHash(key, set, expires, x, nowUs)
  if x ~= expires then
    local e = tonumber(expires)
    if not x or tonumber(x) < e then
      e = math.ceil(e / 60000) * 60000
      set[#set + 1] = 'x'
      set[#set + 1] = string.format('%d', e)
      redis.call('HSET', key, unpack(set))
      redis.call('PEXPIRE', key, string.format('%d', e - math.floor(tonumber(nowUs) / 1000)))
      return
    end
  end
  redis.call('HSET', key, unpack(set))
end
`;

/**
 * All counters of one check, all-or-nothing: every rate window (the key's and its identity's)
 * and every counter (key quota, identity quota, credits, bandwidth) is read and judged first;
 * only when all pass is anything written.
 *
 * The rate windows and quota of one owner (the key, its identity) live in one hash, read with one
 * HMGET and written with one HSET; credits and bandwidth keep keys of their own (the credits
 * refill job and the gateway's after-the-fact byte count use them).
 *
 * KEYS: one limits hash per owner, then one key per plain counter (credits, bandwidth), then per
 *       owner with a quota the quota's key from before the hash (its count is carried over once
 *       per period, when the hash does not hold that period yet).
 * ARGV: nowUs, cost (0 probes: judged, nothing written), owners, windows in all, m plain counters,
 *       per owner: shape (2 x its windows, + 1 with a quota), expiresMs (what the hash needs when
 *       its windows are idle, and its quota, rounded up to a minute), with a quota its limit and periodId, then its
 *       window fields, their TATs if idle (nowUs + interval), their intervalsUs, their burstsUs
 *       ((limit - 1) x interval: how far ahead of now a TAT may be and still admit one more),
 *       m x (limit, need, consume, ttlMs) of the plain counters; ttlMs 0 keeps it for good (credits).
 * Returns, space-separated: 1 or 0 (allowed), then each window's TAT as stored before the call (0:
 *          none, or not after now), then each counter's count before the call, the owners' quotas
 *          first.
 */
const CHECK_LUA = `${HASH_HELPERS_LUA}
local now = ARGV[1]
local nowUs = tonumber(now)
local cost = ARGV[2]
local need = tonumber(cost)
if need < 1 then need = 1 end
local owners = tonumber(ARGV[3])
local m = tonumber(ARGV[5])
local out = {'1'}
local ow = 1
local oc = 1 + tonumber(ARGV[4])
local read = {}
local a = 6
local prior = owners + m
for o = 1, owners do
  local shape = tonumber(ARGV[a])
  local n = math.floor(shape / 2)
  local f = a + 2
  if shape % 2 == 1 then f = a + 4 end
  local v = redis.call('HMGET', KEYS[o], 'x', 'q', 'qp', unpack(ARGV, f, f + n - 1))
  read[o] = v
  for i = 1, n do
    ow = ow + 1
    local stored = v[3 + i]
    local burst = ARGV[f + 3 * n + i - 1]
    local ahead = 0
    if stored then ahead = tonumber(stored) - nowUs end
    if ahead > 0 then
      out[ow] = stored
      if ahead > tonumber(burst) then out[1] = '0' end
    else
      out[ow] = '0'
      -- An idle window admits one unless its limit is below 1 (a negative burst).
      if string.byte(burst, 1) == 45 then out[1] = '0' end
    end
  end
  if f > a + 2 then
    prior = prior + 1
    local used = v[2]
    if v[3] ~= ARGV[a + 3] then used = redis.call('GET', KEYS[prior]) end
    used = used or '0'
    oc = oc + 1
    out[oc] = used
    if tonumber(used) + need > tonumber(ARGV[a + 2]) then out[1] = '0' end
  end
  a = f + 4 * n
end
local counters = a
for c = 1, m do
  local used = redis.call('GET', KEYS[owners + c]) or '0'
  oc = oc + 1
  out[oc] = used
  if tonumber(used) + tonumber(ARGV[a + 1]) > tonumber(ARGV[a]) then out[1] = '0' end
  a = a + 4
end
if out[1] == '1' and cost ~= '0' then
  a = 6
  ow = 1
  oc = 1 + tonumber(ARGV[4])
  for o = 1, owners do
    local shape = tonumber(ARGV[a])
    local n = math.floor(shape / 2)
    local f = a + 2
    if shape % 2 == 1 then f = a + 4 end
    local set = {}
    local expires = ARGV[a + 1]
    for i = 1, n do
      ow = ow + 1
      set[2 * i - 1] = ARGV[f + i - 1]
      if out[ow] == '0' then
        set[2 * i] = ARGV[f + n + i - 1]
      else
        local tat = tonumber(out[ow]) + tonumber(ARGV[f + 2 * n + i - 1])
        set[2 * i] = string.format('%d', tat)
        -- Once TAT has passed the field means "idle", which is what a missing field means too.
        local e = math.ceil(tat / 1000) + 1000
        if e > tonumber(expires) then expires = e end
      end
    end
    if f > a + 2 then
      oc = oc + 1
      set[#set + 1] = 'q'
      set[#set + 1] = string.format('%d', tonumber(out[oc]) + need) -- need is the cost here (at least 1)
      if read[o][3] ~= ARGV[a + 3] then
        set[#set + 1] = 'qp'
        set[#set + 1] = ARGV[a + 3]
      end
    end
    writeHash(KEYS[o], set, expires, read[o][1], now)
    a = f + 4 * n
  end
  a = counters
  for c = 1, m do
    if ARGV[a + 2] ~= '0' then
      redis.call('INCRBY', KEYS[owners + c], ARGV[a + 2])
      if ARGV[a + 3] ~= '0' then redis.call('PEXPIRE', KEYS[owners + c], ARGV[a + 3]) end
    end
    a = a + 4
  end
end
return table.concat(out, ' ')
`;

/** KEYS: bandwidth counter. ARGV: bytes, ttlMs. Returns the bytes used in the period. */
const ADD_BYTES_LUA = `
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return used
`;

/**
 * KEYS: the key's slot set (member = slot id, score = lease expiry in ms).
 * ARGV: nowMs, max, expiresMs, slotId, leaseMs. Returns {acquired 0|1, slots in use}.
 * Expired leases (a crashed instance never released them) are dropped first.
 */
const SLOT_ACQUIRE_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local inUse = redis.call('ZCARD', KEYS[1])
if inUse >= tonumber(ARGV[2]) then return {0, inUse} end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
-- The set must outlive its longest lease, and no longer.
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return {1, inUse + 1}
`;

/** KEYS: slot set. ARGV: nowMs, expiresMs, slotId, leaseMs. 1 when the lease was still held. */
const SLOT_RENEW_LUA = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not score or tonumber(score) <= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
`;

/**
 * A fixed window per client (brute-force guard, leaked-key reports): the first hit of a window
 * starts its expiry. KEYS: the counter. ARGV: windowMs. Returns {hits so far, ms left}.
 */
const FIXED_WINDOW_HIT_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`;

/**
 * Leased mode: grants up to `want` requests of every window at once (the same limits hash exact
 * mode uses, so both modes and every instance share one account of each window).
 * KEYS: the key's limits hash. ARGV: nowUs, want, n, n fields, n intervalsUs, n burstsUs.
 * Returns "granted tat1 tat2 ..." (TATs after the grant, in us from nowUs), space-separated.
 */
const LEASE_LUA = `${HASH_HELPERS_LUA}
local now = tonumber(ARGV[1])
local grant = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'x', unpack(ARGV, 4, 3 + n))
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[3 + n + i])
  local tat = tonumber(v[i + 1] or 0)
  if tat < now then tat = now end
  local free = math.floor((now + tonumber(ARGV[3 + 2 * n + i]) + interval - tat) / interval)
  if free < grant then grant = free end
  tats[i] = tat
end
if grant < 0 then grant = 0 end
local out = {string.format('%d', grant)}
local set = {}
local expires = 0
for i = 1, n do
  local tat = tats[i]
  if grant > 0 then
    tat = tat + grant * tonumber(ARGV[3 + n + i])
    set[2 * i - 1] = ARGV[3 + i]
    set[2 * i] = string.format('%d', tat)
    local e = math.ceil(tat / 1000) + 1000
    if e > expires then expires = e end
  end
  out[i + 1] = string.format('%d', tat - now)
end
if grant > 0 then writeHash(KEYS[1], set, expires, v[1], ARGV[1]) end
return table.concat(out, ' ')
`;

/**
 * Gives back the unused part of a lease: each window's TAT moves back by unused x interval
 * (never before now: a window cannot hold more than its limit).
 * KEYS: the key's limits hash. ARGV: nowUs, unused, n, n fields, n intervalsUs.
 * Only fields the hash holds are written: then it exists, with the TTL its writers gave it, which
 * covers a TAT that only moves back (a hash that has expired meanwhile is not brought back).
 */
const LEASE_RETURN_LUA = `
local now = tonumber(ARGV[1])
local unused = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], unpack(ARGV, 4, 3 + n))
local set = {}
for i = 1, n do
  if v[i] then
    local back = tonumber(v[i]) - unused * tonumber(ARGV[3 + n + i])
    if back < now then back = now end
    set[#set + 1] = ARGV[3 + i]
    set[#set + 1] = string.format('%d', back)
  end
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
return 1
`;

export interface LimitsCommands {
  /** numKeys, the KEYS, then the ARGV described at CHECK_LUA. */
  kwLimitsCheck(...numKeysKeysAndArgs: (string | number)[]): Promise<string>;
  kwLimitsAddBytes(key: string, bytes: string, ttlMs: number): Promise<number>;
  kwSlotAcquire(key: string, nowMs: number, max: number, expiresMs: number, slotId: string, leaseMs: number): Promise<[number, number]>;
  kwSlotRenew(key: string, nowMs: number, expiresMs: number, slotId: string, leaseMs: number): Promise<number>;
  kwFixedWindowHit(key: string, windowMs: number): Promise<[number, number]>;
  /** The hash, then the ARGV described at LEASE_LUA. */
  kwLimitsLease(hash: string, ...args: (string | number)[]): Promise<string>;
  /** The hash, then the ARGV described at LEASE_RETURN_LUA. */
  kwLimitsLeaseReturn(hash: string, ...args: (string | number)[]): Promise<number>;
}

const DEFINITIONS: Record<keyof LimitsCommands, { lua: string; numberOfKeys?: number }> = {
  kwLimitsCheck: { lua: CHECK_LUA }, // key count varies with the windows configured
  kwLimitsAddBytes: { lua: ADD_BYTES_LUA, numberOfKeys: 1 },
  kwSlotAcquire: { lua: SLOT_ACQUIRE_LUA, numberOfKeys: 1 },
  kwSlotRenew: { lua: SLOT_RENEW_LUA, numberOfKeys: 1 },
  kwFixedWindowHit: { lua: FIXED_WINDOW_HIT_LUA, numberOfKeys: 1 },
  kwLimitsLease: { lua: LEASE_LUA, numberOfKeys: 1 },
  kwLimitsLeaseReturn: { lua: LEASE_RETURN_LUA, numberOfKeys: 1 },
};

/**
 * Registers the scripts on a client once (several limiters may share one connection).
 *
 * On a single-node client with auto-pipelining, the scripts bypass the auto-pipeline (they are
 * added to autoPipeliningIgnoredCommands): it builds a Pipeline object, a promise and a callback
 * per command, which cost more than the script call itself on the verify path, and it holds
 * every command until setImmediate even when nothing else is waiting. The Limiter batches its
 * checks under load with `corkUntilNextTurn` instead. Cluster clients keep ioredis' own routing.
 */
export function withLimitsCommands(client: LimitsClient): LimitsClient & LimitsCommands {
  const target = client as unknown as Record<string, unknown>;
  for (const [name, definition] of Object.entries(DEFINITIONS)) {
    if (typeof target[name] !== 'function') client.defineCommand(name, definition);
  }
  if (!client.isCluster && client.options.enableAutoPipelining) {
    // A new array: the client's may be ioredis' shared default, which every other client sees.
    const ignored = client.options.autoPipeliningIgnoredCommands ?? [];
    client.options.autoPipeliningIgnoredCommands = [...ignored, ...Object.keys(DEFINITIONS).filter((name) => !ignored.includes(name))];
  }
  return client as LimitsClient & LimitsCommands;
}

/** Streams held by corkUntilNextTurn, with the number of commands written since the last flush. */
const corked = new WeakMap<object, { held: number }>();

/**
 * How many commands a held batch may reach before it leaves anyway. Unbounded, a busy turn sent
 * every in-flight check at once (32 under the benchmark's load): Redis then worked through the
 * whole batch while the API process sat idle waiting for it, and the API answered the whole batch
 * while Redis sat idle. Batches of this size keep both busy at once: measured with 32 connections,
 * 22-23k verifications/s unbounded, 24-25k with no batching at all (a write per command),
 * 28-30k at 8-16 per batch.
 */
export const CORK_BATCH_MAX = 12;

/**
 * Holds a single-node client's writes until the end of this turn of the event loop, so the
 * commands of requests handled in this turn leave together, as auto-pipelining would send them
 * (it flushes on setImmediate too), in batches of at most CORK_BATCH_MAX. Nothing waits longer
 * than it would have there.
 */
export function corkUntilNextTurn(client: LimitsClient): void {
  if (client.isCluster) return;
  const stream = (client as Redis).stream;
  if (!stream || client.status !== 'ready') return;
  const batch = corked.get(stream);
  if (batch) {
    // The caller writes one command after this: a full batch leaves first.
    if (batch.held >= CORK_BATCH_MAX) {
      batch.held = 0;
      stream.uncork();
      stream.cork();
    }
    batch.held++;
    return;
  }
  corked.set(stream, { held: 1 });
  stream.cork();
  setImmediate(() => {
    corked.delete(stream);
    stream.uncork();
  });
}
