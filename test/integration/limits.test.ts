import crypto from 'node:crypto';
import net from 'node:net';
import Redis, { type RedisOptions } from 'ioredis';
import { BruteForceGuard, ConcurrencyLimiter, FixedWindowCounter, Limiter, periodBounds, type LimitRequest, type LimitsOptions } from '../../src/limits';
import { failedAttemptsKey, limitsHashKey, periodCounterKey } from '../../src/infra/redis-keys';
import { CORK_BATCH_MAX } from '../../src/limits/scripts';

// Real Redis. Each test gets its own prefix (run prefix + random suffix) and its own key ids.

const RUN_PREFIX = process.env.KEYWARDEN_REDIS_PREFIX!;
const REDIS_URL = process.env.REDIS_URL!;
// A minute-aligned instant, so "the edge of a window" means something for a fixed-window limiter.
const T0 = Date.UTC(2031, 4, 14, 10, 0, 0);
const MINUTE = 60_000;

const opened: Redis[] = [];
function connect(opts: RedisOptions = {}, url = REDIS_URL): Redis {
  const client = new Redis(url, opts);
  opened.push(client);
  return client;
}
// An ended client (refused connection) has nothing to close; disconnecting it again would leave
// ioredis' stream-destroy timer pending and keep jest alive.
afterAll(() => opened.filter((c) => c.status !== 'end').forEach((c) => c.disconnect()));

const rand = () => crypto.randomBytes(4).toString('hex');
const newPrefix = () => `${RUN_PREFIX}:t${rand()}`;
const newKeyId = (label: string) => `${label}_${rand()}`;
/** Every check names its account: the hash tag its counters share. */
const ACCOUNT = 'acct-limits';
const keyOwner = (id: string) => ({ accountId: ACCOUNT, kind: 'key' as const, id });

let redis: Redis;
beforeAll(() => {
  redis = connect();
});

function setup(options?: LimitsOptions) {
  const prefix = newPrefix();
  return { prefix, limiter: new Limiter(redis, prefix, options) };
}

const perMinute = (limit: number) => [{ window: 'MINUTE' as const, limit }];

async function run(limiter: Limiter, req: LimitRequest, times: number) {
  const results = [];
  for (let i = 0; i < times; i++) results.push(await limiter.check(req));
  return results;
}

describe('rate windows (GCRA)', () => {
  test('a limit of N allows exactly N, then denies the next with RATE_LIMITED', async () => {
    const { limiter } = setup();
    const req = { accountId: ACCOUNT, keyId: newKeyId('k'), rateLimits: perMinute(5), nowMs: T0 };
    const allowed = await run(limiter, req, 5);
    expect(allowed.map((r) => [r.allowed, r.code, r.ratelimits[0].remaining])).toEqual([
      [true, 'VALID', 4],
      [true, 'VALID', 3],
      [true, 'VALID', 2],
      [true, 'VALID', 1],
      [true, 'VALID', 0],
    ]);
    const denied = await limiter.check(req);
    expect(denied).toMatchObject({ allowed: false, code: 'RATE_LIMITED', degraded: false, retryAfterMs: 12_000 });
    expect(denied.ratelimits).toEqual([{ owner: 'KEY', window: 'MINUTE', limit: 5, remaining: 0, reset: T0 + 12_000 }]);
  });

  test('two limiters on two connections share the counters', async () => {
    const prefix = newPrefix();
    const a = new Limiter(connect(), prefix);
    const b = new Limiter(connect(), prefix);
    const req = { accountId: ACCOUNT, keyId: newKeyId('shared'), rateLimits: perMinute(6), nowMs: T0 };
    const outcomes = [];
    for (let i = 0; i < 8; i++) outcomes.push((await (i % 2 ? b : a).check(req)).allowed);
    expect(outcomes).toEqual([true, true, true, true, true, true, false, false]);
  });

  test('after a burst of N, waiting window/N allows exactly one more', async () => {
    const { limiter } = setup();
    const req = { accountId: ACCOUNT, keyId: newKeyId('k'), rateLimits: perMinute(10), nowMs: T0 };
    await run(limiter, req, 10);
    expect((await limiter.check(req)).allowed).toBe(false);
    const later = { ...req, nowMs: T0 + MINUTE / 10 };
    expect((await limiter.check(later)).allowed).toBe(true);
    expect((await limiter.check(later)).allowed).toBe(false);
    const twoIntervalsLater = { ...req, nowMs: T0 + (3 * MINUTE) / 10 };
    expect((await run(limiter, twoIntervalsLater, 3)).map((r) => r.allowed)).toEqual([true, true, false]);
  });

  test('no double burst across a window edge', async () => {
    const { limiter } = setup();
    const keyId = newKeyId('edge');
    const before = await run(limiter, { accountId: ACCOUNT, keyId, rateLimits: perMinute(5), nowMs: T0 + MINUTE - 1 }, 5);
    expect(before.every((r) => r.allowed)).toBe(true);
    // A fixed minute bucket would grant 5 more here, 2 ms later.
    const after = await run(limiter, { accountId: ACCOUNT, keyId, rateLimits: perMinute(5), nowMs: T0 + MINUTE + 1 }, 5);
    expect(after.filter((r) => r.allowed)).toHaveLength(0);
  });

  test('two windows at once: the tighter one denies, both report remaining and reset', async () => {
    const { limiter } = setup();
    const rateLimits = [
      { window: 'HOUR' as const, limit: 8 },
      { window: 'MINUTE' as const, limit: 5 },
    ];
    const keyId = newKeyId('two');
    const burst = await run(limiter, { accountId: ACCOUNT, keyId, rateLimits, nowMs: T0 }, 5);
    expect(burst.every((r) => r.allowed)).toBe(true);
    // Shortest window first; HOUR's interval is 450 s, so 5 requests fill it again at T0 + 2250 s.
    expect(burst[4].ratelimits).toEqual([
      { owner: 'KEY', window: 'MINUTE', limit: 5, remaining: 0, reset: T0 + 12_000 },
      { owner: 'KEY', window: 'HOUR', limit: 8, remaining: 3, reset: T0 + 5 * 450_000 },
    ]);
    const minuteDenies = await limiter.check({ accountId: ACCOUNT, keyId, rateLimits, nowMs: T0 + 1_000 });
    expect(minuteDenies).toMatchObject({ allowed: false, code: 'RATE_LIMITED', retryAfterMs: 11_000 });
    expect(minuteDenies.ratelimits[1]).toMatchObject({ window: 'HOUR', remaining: 3 });

    // A minute later the minute window is full again; the hour has 3 left, then denies.
    const t1 = T0 + MINUTE;
    const rest = await run(limiter, { accountId: ACCOUNT, keyId, rateLimits, nowMs: t1 }, 4);
    expect(rest.map((r) => r.code)).toEqual(['VALID', 'VALID', 'VALID', 'RATE_LIMITED']);
    expect(rest[3].ratelimits).toEqual([
      { owner: 'KEY', window: 'MINUTE', limit: 5, remaining: 2, reset: t1 + 3 * 12_000 },
      // 8 requests put the hour's TAT at T0 + 3600 s; the next fits 7 intervals before that.
      { owner: 'KEY', window: 'HOUR', limit: 8, remaining: 0, reset: T0 + 450_000 },
    ]);
    expect(rest[3].retryAfterMs).toBe(T0 + 450_000 - t1);
  });
});

describe('all-or-nothing', () => {
  test('a request denied by one window consumes nothing anywhere', async () => {
    const { prefix, limiter } = setup();
    const keyId = newKeyId('atomic');
    const req = {
      accountId: ACCOUNT,
      keyId,
      rateLimits: [
        { window: 'MINUTE' as const, limit: 2 },
        { window: 'DAY' as const, limit: 100 },
      ],
      quota: { units: 50, period: 'DAY' as const },
      bandwidth: { bytes: 10_000, period: 'MONTH' as const },
      bytes: 100,
      nowMs: T0,
    };
    await run(limiter, req, 2);
    const hash = limitsHashKey(prefix, keyOwner(keyId));
    const bandwidthKey = periodCounterKey(prefix, keyOwner(keyId), 'bw', 'MONTH', periodBounds('MONTH', T0).id);
    const stored = async () => ({ hash: await redis.hgetall(hash), bandwidth: await redis.get(bandwidthKey) });
    const before = await stored();
    expect(before.hash).toMatchObject({ q: '2', qp: periodBounds('DAY', T0).id });
    expect(Object.keys(before.hash).sort()).toEqual(['DAY', 'MINUTE', 'q', 'qp', 'x']);
    expect(before.bandwidth).toBe('200');
    const denied = await limiter.check(req);
    expect(denied.code).toBe('RATE_LIMITED');
    expect(denied.quota).toMatchObject({ remaining: 48 });
    expect(denied.bandwidth).toMatchObject({ remaining: 9_800 });
    expect(denied.ratelimits[1]).toMatchObject({ window: 'DAY', remaining: 98 });
    expect(await stored()).toEqual(before);
  });

  test('a request denied by the quota leaves the rate windows untouched', async () => {
    const { prefix, limiter } = setup();
    const keyId = newKeyId('q');
    const req = { accountId: ACCOUNT, keyId, rateLimits: perMinute(10), quota: { units: 1, period: 'MONTH' as const }, nowMs: T0 };
    expect((await limiter.check(req)).allowed).toBe(true);
    const tat = await redis.hget(limitsHashKey(prefix, keyOwner(keyId)), 'MINUTE');
    expect(tat).not.toBeNull();
    const denied = await limiter.check(req);
    expect(denied).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED' });
    expect(denied.ratelimits[0].remaining).toBe(9);
    expect(await redis.hget(limitsHashKey(prefix, keyOwner(keyId)), 'MINUTE')).toBe(tat);
  });

  test('code precedence: RATE_LIMITED, then QUOTA_EXCEEDED, then BANDWIDTH_EXCEEDED', async () => {
    const { limiter } = setup();
    const keyId = newKeyId('prec');
    const all = { accountId: ACCOUNT, keyId, rateLimits: perMinute(1), quota: { units: 1, period: 'DAY' as const }, bandwidth: { bytes: 10, period: 'DAY' as const }, bytes: 10, nowMs: T0 };
    expect((await limiter.check(all)).allowed).toBe(true);
    expect((await limiter.check(all)).code).toBe('RATE_LIMITED');
    expect((await limiter.check({ ...all, rateLimits: [] })).code).toBe('QUOTA_EXCEEDED');
    expect((await limiter.check({ ...all, rateLimits: [], quota: null })).code).toBe('BANDWIDTH_EXCEEDED');
  });
});

describe('quota and bandwidth', () => {
  test('cost 3 against 10 units allows 3 requests and denies the 4th', async () => {
    const { limiter } = setup();
    const req = { accountId: ACCOUNT, keyId: newKeyId('cost'), rateLimits: [], quota: { units: 10, period: 'MONTH' as const }, cost: 3, nowMs: T0 };
    const results = await run(limiter, req, 4);
    expect(results.map((r) => [r.code, r.quota!.remaining])).toEqual([
      ['VALID', 7],
      ['VALID', 4],
      ['VALID', 1],
      ['QUOTA_EXCEEDED', 1],
    ]);
    const monthEnd = Date.UTC(2031, 5, 1);
    expect(results[3].quota).toEqual({ limit: 10, remaining: 1, reset: monthEnd });
    expect(results[3].retryAfterMs).toBe(monthEnd - T0);
  });

  test('the quota starts again with the next UTC day', async () => {
    const { limiter } = setup();
    const req = { accountId: ACCOUNT, keyId: newKeyId('day'), rateLimits: [], quota: { units: 2, period: 'DAY' as const }, nowMs: Date.UTC(2031, 4, 14, 23, 59, 59) };
    expect((await run(limiter, req, 3)).map((r) => r.allowed)).toEqual([true, true, false]);
    const tomorrow = await limiter.check({ ...req, nowMs: Date.UTC(2031, 4, 15) });
    expect(tomorrow).toMatchObject({ allowed: true, quota: { remaining: 1, reset: Date.UTC(2031, 4, 16) } });
  });

  test('a quota counted before the limits hash carries over: a deploy mid-period does not start it again', async () => {
    const { prefix, limiter } = setup();
    const keyId = newKeyId('carry');
    const identity = { id: newKeyId('ident'), rateLimits: [], quota: { units: 10, period: 'DAY' as const } };
    const day = periodBounds('DAY', T0).id;
    await redis.set(periodCounterKey(prefix, keyOwner(keyId), 'quota', 'MONTH', periodBounds('MONTH', T0).id), '4', 'PX', 60_000);
    await redis.set(periodCounterKey(prefix, { accountId: ACCOUNT, kind: 'identity', id: identity.id }, 'quota', 'DAY', day), '9', 'PX', 60_000);
    const req = { accountId: ACCOUNT, keyId, rateLimits: perMinute(100), quota: { units: 5, period: 'MONTH' as const }, identity, nowMs: T0 };
    expect(await limiter.check(req)).toMatchObject({ allowed: true, quota: { remaining: 0 }, identityQuota: { remaining: 0 } });
    expect(await limiter.check(req)).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED' });
    // Counted on in the hash from then on; the old counter is not read again in that period.
    await redis.del(periodCounterKey(prefix, keyOwner(keyId), 'quota', 'MONTH', periodBounds('MONTH', T0).id));
    expect(await limiter.check(req)).toMatchObject({ allowed: false, quota: { remaining: 0 } });
    expect(await redis.hget(limitsHashKey(prefix, { accountId: ACCOUNT, kind: 'identity', id: identity.id }), 'q')).toBe('10');
  });

  test('a limits hash lives as long as its latest state needs, and a little more', async () => {
    const { prefix, limiter } = setup();
    const keyId = newKeyId('ttl');
    const hash = limitsHashKey(prefix, keyOwner(keyId));
    // A minute window alone: the hash outlives its TAT (T0 + 12 s) and a second of grace, rounded up to a whole minute.
    await limiter.check({ accountId: ACCOUNT, keyId, rateLimits: perMinute(5), nowMs: T0 });
    const windowTtl = await redis.pttl(hash);
    expect(windowTtl).toBeGreaterThan(12_000 + 1_000);
    expect(windowTtl).toBeLessThanOrEqual(60_000);
    // With a monthly quota it lasts past the month's end (by a minute of grace).
    await limiter.check({ accountId: ACCOUNT, keyId, rateLimits: perMinute(5), quota: { units: 10, period: 'MONTH' as const }, nowMs: T0 });
    const quotaTtl = await redis.pttl(hash);
    expect(quotaTtl).toBeGreaterThan(Date.UTC(2031, 5, 1) - T0);
    expect(quotaTtl).toBeLessThanOrEqual(Date.UTC(2031, 5, 1) - T0 + 60_000);
    // Later requests that need no more than that leave the expiry as it is.
    const x = await redis.hget(hash, 'x');
    await limiter.check({ accountId: ACCOUNT, keyId, rateLimits: perMinute(5), quota: { units: 10, period: 'MONTH' as const }, nowMs: T0 + 1_000 });
    expect(await redis.hget(hash, 'x')).toBe(x);
  });

  test('cost 0 probes without consuming anything', async () => {
    const { prefix, limiter } = setup();
    const keyId = newKeyId('probe');
    const req = { accountId: ACCOUNT, keyId, rateLimits: perMinute(2), quota: { units: 2, period: 'DAY' as const }, bandwidth: { bytes: 100, period: 'DAY' as const }, bytes: 50, cost: 0, nowMs: T0 };
    const probes = await run(limiter, req, 5);
    expect(probes.every((r) => r.allowed)).toBe(true);
    expect(probes[4]).toMatchObject({ ratelimits: [{ remaining: 2 }], quota: { remaining: 2 }, bandwidth: { remaining: 100 } });
    expect(await redis.exists(limitsHashKey(prefix, keyOwner(keyId)), periodCounterKey(prefix, keyOwner(keyId), 'bw', 'DAY', periodBounds('DAY', T0).id))).toBe(0);
    // A probe still reports an exhausted counter, without spending more.
    await run(limiter, { ...req, cost: 1, bytes: 0 }, 2);
    expect(await limiter.check(req)).toMatchObject({ allowed: false, code: 'RATE_LIMITED', quota: { remaining: 0 } });
  });

  test('bandwidth: request bytes at check time, response bytes after the fact', async () => {
    const { limiter } = setup();
    const keyId = newKeyId('bw');
    const bandwidth = { bytes: 1_000, period: 'MONTH' as const };
    const req = { accountId: ACCOUNT, keyId, rateLimits: [], bandwidth, bytes: 400, nowMs: T0 };
    const results = await run(limiter, req, 3);
    expect(results.map((r) => [r.code, r.bandwidth!.remaining])).toEqual([
      ['VALID', 600],
      ['VALID', 200],
      ['BANDWIDTH_EXCEEDED', 200],
    ]);
    expect(await limiter.addBytes(ACCOUNT, keyId, bandwidth, 150, T0)).toEqual({ limit: 1_000, remaining: 50, reset: Date.UTC(2031, 5, 1) });
    expect((await limiter.check({ ...req, bytes: 0 })).allowed).toBe(true);
    expect(await limiter.addBytes(ACCOUNT, keyId, bandwidth, 100, T0)).toMatchObject({ remaining: 0 });
    // Spent: even a request with no known bytes is denied, since its response would add more.
    expect(await limiter.check({ ...req, bytes: 0 })).toMatchObject({ allowed: false, code: 'BANDWIDTH_EXCEEDED' });
  });

  test('a key without limits is allowed without asking Redis', async () => {
    const { limiter } = setup();
    expect(await limiter.check({ accountId: ACCOUNT, keyId: newKeyId('free'), rateLimits: [], nowMs: T0 })).toMatchObject({ allowed: true, code: 'VALID', quota: null, bandwidth: null });
  });
});

test('each check is exactly one Redis command (seen by MONITOR)', async () => {
  const client = connect();
  const limiter = new Limiter(client, newPrefix());
  await client.ping();
  const addr = /addr=(\S+)/.exec(String(await client.client('INFO')))![1];
  const monitor = await connect().monitor();
  opened.push(monitor);
  const seen: { command: string; source: string }[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ command: String(args[0]).toLowerCase(), source }));

  const keyId = newKeyId('one');
  const full = {
    accountId: ACCOUNT,
    keyId,
    rateLimits: [
      { window: 'MINUTE' as const, limit: 3 },
      { window: 'HOUR' as const, limit: 10 },
      { window: 'DAY' as const, limit: 100 },
    ],
    quota: { units: 100, period: 'DAY' as const },
    bandwidth: { bytes: 1e6, period: 'MONTH' as const },
    bytes: 10,
    nowMs: T0,
  };
  await run(limiter, full, 4); // three allowed and one denied
  await limiter.check({ ...full, cost: 0 });
  await limiter.check({ accountId: ACCOUNT, keyId, rateLimits: perMinute(3), nowMs: T0 });
  // With an identity (its windows and quota) and credits: still one command.
  const shared = { ...full, keyId: newKeyId('two'), identity: { id: 'i1', rateLimits: perMinute(2), quota: { units: 10, period: 'DAY' as const } }, credits: { budget: 5, epoch: 0 } };
  const withIdentity = await run(limiter, shared, 3);
  expect(withIdentity.map((r) => r.code)).toEqual(['VALID', 'VALID', 'RATE_LIMITED']);

  // Commands reach MONITOR in execution order: once the marker from another connection is
  // seen, everything the limiter sent before it has been seen too.
  const marker = `marker-${rand()}`;
  await redis.echo(marker);
  for (let i = 0; i < 100 && !seen.some((s) => s.command === 'echo'); i++) await new Promise((r) => setTimeout(r, 20));
  expect(seen.some((s) => s.command === 'echo')).toBe(true);

  const mine = seen.filter((s) => s.source === addr).map((s) => s.command);
  expect(mine).toHaveLength(9);
  expect(mine.every((c) => c === 'eval' || c === 'evalsha')).toBe(true);
  // The script's own calls are attributed to "lua", not to a round trip of the client.
  expect(seen.some((s) => s.source === 'lua' && s.command === 'get')).toBe(true);
});

test('checks issued together leave in several batches and each gets its own answer', async () => {
  const { limiter } = setup();
  const req = { accountId: ACCOUNT, keyId: newKeyId('burst'), rateLimits: perMinute(30), nowMs: T0 };
  // One check in flight makes the next ones wait for the end of the turn, in batches of
  // CORK_BATCH_MAX: 50 of them span several batches.
  const results = await Promise.all(Array.from({ length: 51 }, () => limiter.check(req)));
  expect(CORK_BATCH_MAX).toBeLessThan(50);
  expect(results.filter((r) => r.allowed)).toHaveLength(30);
  expect(results.slice(30).every((r) => r.code === 'RATE_LIMITED' && !r.degraded)).toBe(true);
  // Commands run in the order they were issued: remaining counts down 29..0.
  expect(results.slice(0, 30).map((r) => r.ratelimits[0].remaining)).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
});

describe('concurrency slots', () => {
  test('max 2 gives 2 slots then none; a release frees one', async () => {
    const slots = new ConcurrencyLimiter(redis, newPrefix());
    const keyId = newKeyId('conc');
    const a = await slots.acquire(keyId, 2, 30_000, T0);
    const b = await slots.acquire(keyId, 2, 30_000, T0);
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(await slots.acquire(keyId, 2, 30_000, T0)).toBeNull();
    await slots.release(a!);
    await slots.release(a!); // twice is harmless
    expect(await slots.acquire(keyId, 2, 30_000, T0)).not.toBeNull();
    expect(await slots.acquire(keyId, 2, 30_000, T0)).toBeNull();
  });

  test('an expired lease is reclaimed; a renewed one is not', async () => {
    const slots = new ConcurrencyLimiter(redis, newPrefix());
    const keyId = newKeyId('lease');
    const crashed = await slots.acquire(keyId, 2, 1_000, T0);
    const longRunning = await slots.acquire(keyId, 2, 1_000, T0);
    expect(await slots.renew(longRunning!, T0 + 800)).toBe(true);
    expect(await slots.acquire(keyId, 2, 1_000, T0 + 900)).toBeNull();
    // The first lease ran out at T0 + 1000; the renewed one holds until T0 + 1800.
    expect(await slots.acquire(keyId, 2, 1_000, T0 + 1_001)).not.toBeNull();
    expect(await slots.acquire(keyId, 2, 1_000, T0 + 1_001)).toBeNull();
    expect(await slots.renew(crashed!, T0 + 1_002)).toBe(false);
  });
});

describe('fixed windows per client (brute-force guard, leaked-key reports)', () => {
  test('hits count up within a window, which ends windowMs after its first hit', async () => {
    const counter = new FixedWindowCounter(redis, 300);
    const key = `${newPrefix()}:fw`;
    const first = await counter.hit(key);
    expect(first.count).toBe(1);
    expect(first.resetInMs).toBeGreaterThan(0);
    expect(first.resetInMs).toBeLessThanOrEqual(300);
    expect((await counter.hit(key)).count).toBe(2);
    await new Promise((r) => setTimeout(r, 350));
    expect((await counter.hit(key)).count).toBe(1);
  });

  test("the guard blocks an IP at its maxFailures-th unknown key, until blockMs has passed on the caller's clock", async () => {
    const prefix = newPrefix();
    const guard = new BruteForceGuard(redis, prefix, { maxFailures: 3, windowMs: MINUTE, blockMs: 120_000 });
    for (let i = 0; i < 2; i++) await guard.recordFailure('203.0.113.9', T0);
    expect(guard.retryAfterMs('203.0.113.9', T0)).toBe(0);
    await guard.recordFailure('203.0.113.9', T0);
    expect(guard.retryAfterMs('203.0.113.9', T0 + 1_000)).toBe(119_000);
    expect(guard.retryAfterMs('203.0.113.10', T0)).toBe(0);
    expect(guard.retryAfterMs('203.0.113.9', T0 + 120_000)).toBe(0);
    expect(Number(await redis.get(failedAttemptsKey(prefix, '203.0.113.9')))).toBe(3);
  });

  test('IPv6 callers are counted and blocked per /64: rotating the interface id does not escape, the next /64 is another caller', async () => {
    const prefix = newPrefix();
    const guard = new BruteForceGuard(redis, prefix, { maxFailures: 3, windowMs: MINUTE, blockMs: 120_000 });
    await guard.recordFailure('2001:db8:1:2::5', T0);
    await guard.recordFailure('2001:db8:1:2:aaaa:bbbb:cccc:dddd', T0);
    await guard.recordFailure('2001:0DB8:0001:0002:ffff::1', T0);
    expect(guard.retryAfterMs('2001:db8:1:2::77', T0)).toBe(120_000);
    expect(guard.retryAfterMs('2001:db8:1:3::5', T0)).toBe(0);
    expect(guard.retryAfterMs('2001:db8:1:2::5', T0 + 120_000)).toBe(0);
    expect(Number(await redis.get(failedAttemptsKey(prefix, '2001:db8:1:2::/64')))).toBe(3);
  });

  test('an IPv4-mapped IPv6 caller counts as its IPv4 address', async () => {
    const prefix = newPrefix();
    const guard = new BruteForceGuard(redis, prefix, { maxFailures: 2, windowMs: MINUTE, blockMs: 60_000 });
    await guard.recordFailure('::ffff:203.0.113.40', T0);
    await guard.recordFailure('203.0.113.40', T0);
    expect(guard.retryAfterMs('::ffff:cb00:7128', T0)).toBe(60_000);
  });
});

describe('when Redis is unreachable', () => {
  function deadClient(): Redis {
    const client = connect({ retryStrategy: () => null, enableOfflineQueue: false, maxRetriesPerRequest: 0 }, 'redis://127.0.0.1:1');
    client.on('error', () => {});
    return client;
  }
  const req = { accountId: ACCOUNT, keyId: 'k_dead', rateLimits: perMinute(5), quota: { units: 10, period: 'DAY' as const }, nowMs: T0 };

  test('open mode allows, marks the answer degraded and reports the error', async () => {
    const onError = jest.fn();
    const limiter = new Limiter(deadClient(), newPrefix(), { failureMode: 'open', onError });
    const result = await limiter.check(req);
    expect(result).toMatchObject({ allowed: true, code: 'VALID', degraded: true, retryAfterMs: 0 });
    expect(onError).toHaveBeenCalledWith(expect.any(Error), 'check');
    expect(await limiter.addBytes(ACCOUNT, 'k_dead', { bytes: 10, period: 'DAY' }, 5, T0)).toBeNull();
  });

  test('closed mode denies with RATE_LIMITED, degraded', async () => {
    const onError = jest.fn(() => {
      throw new Error('a broken logger must not matter');
    });
    const limiter = new Limiter(deadClient(), newPrefix(), { failureMode: 'closed', onError });
    const result = await limiter.check(req);
    expect(result).toMatchObject({ allowed: false, code: 'RATE_LIMITED', degraded: true, ratelimits: [{ remaining: 0 }] });
    expect(result.retryAfterMs).toBeGreaterThan(0);
    expect(onError).toHaveBeenCalled();
  });

  test('concurrency slots follow the failure mode', async () => {
    const open = new ConcurrencyLimiter(deadClient(), newPrefix(), { failureMode: 'open' });
    const token = await open.acquire('k_dead', 1, 1_000, T0);
    expect(token).toMatchObject({ degraded: true });
    await expect(open.release(token!)).resolves.toBeUndefined();
    const closed = new ConcurrencyLimiter(deadClient(), newPrefix(), { failureMode: 'closed' });
    expect(await closed.acquire('k_dead', 1, 1_000, T0)).toBeNull();
  });

  test('a Redis that never answers is cut off by the deadline', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = connect({ retryStrategy: () => null }, `redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
    client.on('error', () => {});
    const onError = jest.fn();
    const limiter = new Limiter(client, newPrefix(), { failureMode: 'open', timeoutMs: 100, onError });
    const started = Date.now();
    expect(await limiter.check(req)).toMatchObject({ allowed: true, degraded: true });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(onError.mock.calls[0][0].name).toBe('LimitsTimeoutError');
    client.disconnect();
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
  });
});
