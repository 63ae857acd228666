import crypto from 'node:crypto';
import Redis from 'ioredis';
import { openDatabase, type Database } from '../../src/infra/db';
import { LEASE_MS, LeasedLimiter, maxBlock } from '../../src/limits/leased';
import { Limiter, type LimitRequest, type RateLimitSpec } from '../../src/limits/limiter';
import { startHarness, type Harness } from '../helpers/harness';

// RATE_LIMIT_MODE=leased against real Redis: two instances (two limiters, two connections) sharing
// one key's windows, time driven by the caller as verification drives it.

const RUN_PREFIX = process.env.KEYWARDEN_REDIS_PREFIX!;
const REDIS_URL = process.env.REDIS_URL!;
const T0 = Date.UTC(2031, 4, 14, 10, 0, 0);
const MINUTE = 60_000;
const rand = () => crypto.randomBytes(4).toString('hex');

const clients: Redis[] = [];
function connect(): Redis {
  const c = new Redis(REDIS_URL);
  clients.push(c);
  return c;
}
afterAll(() => clients.forEach((c) => c.disconnect()));

/** The most admissions inside any span of `span` ms (admission times sorted). */
function busiestSpan(times: number[], span: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end] - times[start] >= span) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Offers `perSecond` requests per second for `ms`, alternating between the limiters; returns admission times. */
async function offer(limiters: Limiter[], keyId: string, rateLimits: RateLimitSpec[], perSecond: number, ms: number): Promise<{ admitted: number[]; denied: number[] }> {
  const admitted: number[] = [];
  const denied: number[] = [];
  const step = 1000 / perSecond;
  for (let i = 0; i * step < ms; i++) {
    const nowMs = T0 + Math.floor(i * step);
    const r = await limiters[i % limiters.length].check({ accountId: 'acct-leased', keyId, rateLimits, nowMs });
    (r.allowed ? admitted : denied).push(nowMs);
  }
  return { admitted, denied };
}

describe('leased rate limits, two instances', () => {
  const limit = 300; // per minute: one request per 200 ms, blocks of at most 30
  const rateLimits = [{ window: 'MINUTE' as const, limit }];

  test('over three minutes at four times the limit, no minute admits more than exact mode plus K blocks', async () => {
    const keyId = `k_${rand()}`;
    const leasedPrefix = `${RUN_PREFIX}:lease${rand()}`;
    const leased = [new LeasedLimiter(connect(), leasedPrefix), new LeasedLimiter(connect(), leasedPrefix)];
    const exactPrefix = `${RUN_PREFIX}:exact${rand()}`;
    const exact = [new Limiter(connect(), exactPrefix), new Limiter(connect(), exactPrefix)];

    const l = await offer(leased, keyId, rateLimits, 20, 3 * MINUTE);
    const e = await offer(exact, keyId, rateLimits, 20, 3 * MINUTE);
    const K = 2;
    const over = busiestSpan(l.admitted, MINUTE) - busiestSpan(e.admitted, MINUTE);
    expect(over).toBeLessThanOrEqual(K * maxBlock(limit));
    // Over the whole run, leased mode admits what exact mode does, give or take the blocks held.
    expect(Math.abs(l.admitted.length - e.admitted.length)).toBeLessThanOrEqual(K * maxBlock(limit));
    await Promise.all(leased.map((x) => x.release()));
  }, 180_000);

  test('from idle, the first denial comes after at least N - (K-1) x block admissions, and never past N', async () => {
    const keyId = `k_${rand()}`;
    const prefix = `${RUN_PREFIX}:lease${rand()}`;
    const leased = [new LeasedLimiter(connect(), prefix), new LeasedLimiter(connect(), prefix)];
    // 1,000 requests within 100 ms: GCRA refills one request in that time.
    const results = [];
    for (let i = 0; i < 1000; i++) results.push(await leased[i % 2].check({ accountId: 'acct-leased', keyId, rateLimits, nowMs: T0 + Math.floor(i / 10) }));
    const admitted = results.filter((r) => r.allowed).length;
    const firstDenial = results.findIndex((r) => !r.allowed);
    expect(admitted).toBeLessThanOrEqual(limit + 1);
    expect(firstDenial).toBeGreaterThanOrEqual(limit - maxBlock(limit));
    expect(results[firstDenial].code).toBe('RATE_LIMITED');
    expect(results[firstDenial].retryAfterMs).toBeGreaterThan(0);
    await Promise.all(leased.map((x) => x.release()));
  });

  test('an unused block is given back (at release, or when it lapses): the other instance may then use it', async () => {
    const keyId = `k_${rand()}`;
    const prefix = `${RUN_PREFIX}:lease${rand()}`;
    const [a, b] = [new LeasedLimiter(connect(), prefix), new LeasedLimiter(connect(), prefix)];
    const small = [{ window: 'HOUR' as const, limit: 100 }];
    // a grows its blocks while hot, then goes quiet holding part of one.
    let usedByA = 0;
    const t = T0 + 40;
    for (let i = 0; i < 40; i++) if ((await a.check({ accountId: 'acct-leased', keyId, rateLimits: small, nowMs: T0 + i })).allowed) usedByA++;
    expect(usedByA).toBe(40);
    // b takes what Redis has left; then, once a's block has lapsed and a has given it back, more.
    let byB = 0;
    while ((await b.check({ accountId: 'acct-leased', keyId, rateLimits: small, nowMs: t })).allowed) byB++;
    await a.release();
    while ((await b.check({ accountId: 'acct-leased', keyId, rateLimits: small, nowMs: t + LEASE_MS })).allowed) byB++;
    expect(usedByA + byB).toBeGreaterThanOrEqual(100);
    expect(usedByA + byB).toBeLessThanOrEqual(101);
    await b.release();
  });
});

describe('leased rate limits, Redis round trips', () => {
  test('a hot key costs under 0.05 lease calls per check; exact mode costs one', async () => {
    const keyId = `k_${rand()}`;
    const prefix = `${RUN_PREFIX}:lease${rand()}`;
    const limiter = new LeasedLimiter(connect(), prefix);
    const client = (limiter as unknown as { client: { kwLimitsLease: (...a: unknown[]) => Promise<string> } }).client;
    const calls = jest.spyOn(client, 'kwLimitsLease');
    const rateLimits = [
      { window: 'MINUTE' as const, limit: 100_000_000 },
      { window: 'HOUR' as const, limit: 1_000_000_000 },
    ];
    const checks = 5000;
    for (let i = 0; i < checks; i++) {
      const r = await limiter.check({ accountId: 'acct-leased', keyId, rateLimits, nowMs: T0 + Math.floor(i / 5) } satisfies LimitRequest);
      expect(r.allowed).toBe(true);
    }
    expect(calls.mock.calls.length / checks).toBeLessThan(0.05);
    await limiter.release();
  });

  test('a key with a quota keeps its exact round trip per check in leased mode', async () => {
    const keyId = `k_${rand()}`;
    const limiter = new LeasedLimiter(connect(), `${RUN_PREFIX}:lease${rand()}`);
    const client = (limiter as unknown as { client: { kwLimitsCheck: (...a: unknown[]) => Promise<string> } }).client;
    const calls = jest.spyOn(client, 'kwLimitsCheck');
    const req = { accountId: 'acct-leased', keyId, rateLimits: [{ window: 'MINUTE' as const, limit: 1000 }], quota: { units: 3, period: 'MONTH' as const }, nowMs: T0 };
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await limiter.check(req)).code);
    expect(codes).toEqual(['VALID', 'VALID', 'VALID', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED']);
    expect(calls).toHaveBeenCalledTimes(5);
  });
});

describe('leased mode behind two API instances', () => {
  let a: Harness;
  let b: Harness;
  let dbA: Database;
  let dbB: Database;
  beforeAll(async () => {
    dbA = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
    dbB = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
    a = await startHarness({ db: dbA, app: { rateLimitMode: 'leased' } });
    b = await startHarness({ db: dbB, app: { rateLimitMode: 'leased' } });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await dbA.close();
    await dbB.close();
  });

  test('a hot key revoked on one instance stops verifying on the other within a second, whatever its lease holds', async () => {
    const acct = await a.newAccount('leased-revoke');
    const r = await a.gql(`mutation { createKey(input: { name: "hot", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 100000 }] }) { secret key { id } } }`, {}, acct.secret);
    const { secret, key } = r.data.createKey;
    for (let i = 0; i < 50; i++) expect((await b.verify({ key: secret })).body.code).toBe('VALID');
    await a.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: key.id }, acct.secret);
    const started = Date.now();
    let code = '';
    while (Date.now() - started < 1000) {
      code = (await b.verify({ key: secret })).body.code;
      if (code === 'REVOKED') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(code).toBe('REVOKED');
  });

  test('a rate limit of N admits at most N plus the blocks in flight across both instances', async () => {
    const acct = await a.newAccount('leased-n');
    const r = await a.gql(`mutation { createKey(input: { name: "n", type: PRODUCTION, rateLimits: [{ window: HOUR, limit: 40 }] }) { secret } }`, {}, acct.secret);
    const secret = r.data.createKey.secret;
    const codes: string[] = [];
    for (let i = 0; i < 60; i++) codes.push((await (i % 2 ? b : a).verify({ key: secret })).body.code);
    const valid = codes.filter((c) => c === 'VALID').length;
    expect(valid).toBeLessThanOrEqual(41);
    expect(valid).toBeGreaterThanOrEqual(40 - maxBlock(40));
    expect(codes.slice(-5)).toEqual(Array(5).fill('RATE_LIMITED'));
  });
});
