import type { Cluster, Redis } from 'ioredis';

// Lua scripts, registered with ioredis defineCommand: ioredis sends the script body once per
// connection (EVAL) and EVALSHA after that, re-sending on NOSCRIPT, so each call is one command
// and one round trip. Every key one script call touches shares one hash tag (the account's for
// the limits check, the API key's for concurrency slots), so the scripts also run on Redis Cluster.

export type LimitsClient = Redis | Cluster;

/**
 * All counters of one check, all-or-nothing: every rate window (the key's and its identity's)
 * and every counter (key quota, identity quota, credits, bandwidth) is read and judged first;
 * only when all pass is anything written.
 *
 * KEYS: one GCRA key per rate window, then one key per counter.
 * ARGV: nowUs, weight (1 consumes one request, 0 probes), n windows, n x (intervalUs, limit),
 *       m counters, m x (limit, need, consume, ttlMs); ttlMs 0 keeps the counter for good (credits).
 * Returns: allowed, then per window (failed, tatUs), then per counter (failed, used), values as
 *          they stand after the call, as one string of space-separated integers: the client
 *          decodes one bulk string far faster than an array of integers, and its decoding was
 *          most of the client's cost per call.
 */
const CHECK_LUA = `
local now = tonumber(ARGV[1])
local weight = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local out = {1}
local a = 4
for i = 1, n do
  local interval = tonumber(ARGV[a])
  local limit = tonumber(ARGV[a + 1])
  a = a + 2
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  if tat < now then tat = now end
  local failed = 0
  if tat - now > (limit - 1) * interval then
    failed = 1
    out[1] = 0
  end
  out[2 * i] = failed
  out[2 * i + 1] = tat
end
local m = tonumber(ARGV[a])
a = a + 1
local c0 = 2 * n + 1
for c = 1, m do
  local used = tonumber(redis.call('GET', KEYS[n + c]) or 0)
  local failed = 0
  if used + tonumber(ARGV[a + 1]) > tonumber(ARGV[a]) then
    failed = 1
    out[1] = 0
  end
  out[c0 + 2 * c - 1] = failed
  out[c0 + 2 * c] = used
  a = a + 4
end
if out[1] == 1 then
  if weight > 0 then
    for i = 1, n do
      local interval = tonumber(ARGV[2 + 2 * i])
      local tat = out[2 * i + 1] + interval
      out[2 * i + 1] = tat
      -- Once TAT has passed the key means "idle", which is what a missing key means too.
      local ttl = math.ceil((tat - now) / 1000) + 1000
      redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', string.format('%d', ttl))
    end
  end
  local b = 5 + 2 * n
  for c = 1, m do
    local consume = tonumber(ARGV[b + 2])
    if consume > 0 then
      out[c0 + 2 * c] = redis.call('INCRBY', KEYS[n + c], consume)
      local ttl = tonumber(ARGV[b + 3])
      if ttl > 0 then redis.call('PEXPIRE', KEYS[n + c], ttl) end
    end
    b = b + 4
  end
end
for i = 1, #out do out[i] = string.format('%d', out[i]) end
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
 * Leased mode: grants up to `want` requests of every window at once (the same GCRA state exact
 * mode uses, so both modes and every instance share one account of each window).
 * KEYS: one GCRA key per window. ARGV: nowUs, want, n, n x (intervalUs, limit).
 * Returns "granted tat1 tat2 ..." (TATs after the grant), space-separated.
 */
const LEASE_LUA = `
local now = tonumber(ARGV[1])
local grant = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[2 + 2 * i])
  local limit = tonumber(ARGV[3 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  if tat < now then tat = now end
  local free = math.floor((now + limit * interval - tat) / interval)
  if free < grant then grant = free end
  tats[i] = tat
end
if grant < 0 then grant = 0 end
local out = {string.format('%d', grant)}
for i = 1, n do
  local tat = tats[i]
  if grant > 0 then
    tat = tat + grant * tonumber(ARGV[2 + 2 * i])
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', string.format('%d', math.ceil((tat - now) / 1000) + 1000))
  end
  out[i + 1] = string.format('%d', tat)
end
return table.concat(out, ' ')
`;

/**
 * Gives back the unused part of a lease: each window's TAT moves back by unused x interval
 * (never before now: a window cannot hold more than its limit).
 * KEYS: one GCRA key per window. ARGV: nowUs, unused, n, n x intervalUs.
 */
const LEASE_RETURN_LUA = `
local now = tonumber(ARGV[1])
local unused = tonumber(ARGV[2])
for i = 1, tonumber(ARGV[3]) do
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  local back = tat - unused * tonumber(ARGV[3 + i])
  if back <= now then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], string.format('%d', back), 'PX', string.format('%d', math.ceil((back - now) / 1000) + 1000))
  end
end
return 1
`;

export interface LimitsCommands {
  /** numKeys, the KEYS, then the ARGV described at CHECK_LUA. */
  kwLimitsCheck(...numKeysKeysAndArgs: (string | number)[]): Promise<string>;
  kwLimitsAddBytes(key: string, bytes: string, ttlMs: number): Promise<number>;
  kwSlotAcquire(key: string, nowMs: number, max: number, expiresMs: number, slotId: string, leaseMs: number): Promise<[number, number]>;
  kwSlotRenew(key: string, nowMs: number, expiresMs: number, slotId: string, leaseMs: number): Promise<number>;
  kwFixedWindowHit(key: string, windowMs: number): Promise<[number, number]>;
  /** numKeys, the KEYS, then the ARGV described at LEASE_LUA. */
  kwLimitsLease(...numKeysKeysAndArgs: (string | number)[]): Promise<string>;
  /** numKeys, the KEYS, then the ARGV described at LEASE_RETURN_LUA. */
  kwLimitsLeaseReturn(...numKeysKeysAndArgs: (string | number)[]): Promise<number>;
}

const DEFINITIONS: Record<keyof LimitsCommands, { lua: string; numberOfKeys?: number }> = {
  kwLimitsCheck: { lua: CHECK_LUA }, // key count varies with the windows configured
  kwLimitsAddBytes: { lua: ADD_BYTES_LUA, numberOfKeys: 1 },
  kwSlotAcquire: { lua: SLOT_ACQUIRE_LUA, numberOfKeys: 1 },
  kwSlotRenew: { lua: SLOT_RENEW_LUA, numberOfKeys: 1 },
  kwFixedWindowHit: { lua: FIXED_WINDOW_HIT_LUA, numberOfKeys: 1 },
  kwLimitsLease: { lua: LEASE_LUA },
  kwLimitsLeaseReturn: { lua: LEASE_RETURN_LUA },
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
