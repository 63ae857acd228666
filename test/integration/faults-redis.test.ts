import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { createRedis, isRedisDown } from '../../src/infra/redis';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { KeyCache } from '../../src/keys/cache';
import { wireInvalidation } from '../../src/keys/invalidation';
import type { ResolvedKey } from '../../src/keys/resolve';
import { Limiter } from '../../src/limits';
import { startWorkers, type Workers } from '../../workers';
import { QUEUES, bullPrefix } from '../../workers/queues';
import { SCANS } from '../../workers/scheduled';
import { startHarness, type Harness } from '../helpers/harness';
import { spawnCli } from '../helpers/processes';
import { startOwnRedis, type OwnRedis } from '../helpers/servers';
import { FAST_SETTINGS, TEST_ENCRYPTION_KEY, configureTestWebhooks, createKey, eventually, isolatedDatabase, type IsolatedDatabase } from '../helpers/webhooks';

// Redis faults, with a Redis of this file's own (stopped, emptied and started here; the shared
// one is never touched). PostgreSQL is the test run's, in a database of this file's own.

jest.setTimeout(120_000);

let redisServer: OwnRedis;
let iso: IsolatedDatabase;

beforeAll(async () => {
  configureTestWebhooks();
  [redisServer, iso] = await Promise.all([startOwnRedis(), isolatedDatabase('faults_redis')]);
});
afterAll(async () => {
  await iso?.drop();
  await redisServer?.stop();
});

describe('scan schedulers', () => {
  const prefix = 'kwsched';
  let redis: Redis;
  let queueConnection: Redis;
  let queue: Queue;
  let workers: Workers;

  beforeAll(async () => {
    redis = createRedis(redisServer.url);
    queueConnection = createRedis(redisServer.url, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUES.scheduled, { connection: queueConnection, prefix: bullPrefix(prefix) });
    workers = await startWorkers({ db: iso.db, redis, prefix, settings: { redisUrl: redisServer.url, databaseUrl: iso.url, ...FAST_SETTINGS, scanIntervalSeconds: 1, schedulerCheckMs: 300 } });
  });
  afterAll(async () => {
    await workers?.close();
    await queue?.close();
    queueConnection?.disconnect();
    redis?.disconnect();
  });

  /** Every scheduler is there and a scan ran since the data was lost. */
  const scansRunAgain = (what: string) =>
    eventually(
      async () => {
        const schedulers = (await queue.getJobSchedulers()).map((s) => s.key).sort();
        return schedulers.length === SCANS.length && (await queue.getCompletedCount()) > 0 && schedulers;
      },
      30_000,
      what,
    );

  test('the deployment keys deleted while a worker runs: the schedulers come back and the scans run again', async () => {
    expect(await scansRunAgain('the scans at start')).toEqual([...SCANS].sort());
    const doomed = await queueConnection.keys(`${prefix}:*`);
    expect(doomed.length).toBeGreaterThan(0);
    await queueConnection.del(...doomed);
    expect(await queue.getJobSchedulers()).toEqual([]);
    expect(await scansRunAgain('the scans after the keys were deleted')).toEqual([...SCANS].sort());
  });

  test('Redis restarted empty (no persistence): the schedulers come back and the scans run again', async () => {
    await redisServer.stop();
    await redisServer.start();
    expect(await scansRunAgain('the scans after the restart')).toEqual([...SCANS].sort());
  });
});

describe('verification while Redis is down', () => {
  test('a limits check while the client is disconnected is decided at once by the failure mode, without waiting for its deadline', async () => {
    const client = createRedis(redisServer.url);
    const errors: Error[] = [];
    const open = new Limiter(client, 'kwdown', { failureMode: 'open', onError: (err) => errors.push(err) });
    const closed = new Limiter(client, 'kwdown', { failureMode: 'closed', onError: (err) => errors.push(err) });
    const req = { accountId: 'acct-faults', keyId: 'k1', rateLimits: [{ window: 'MINUTE' as const, limit: 10 }], nowMs: Date.now() };
    try {
      expect((await open.check(req)).degraded).toBe(false);
      await redisServer.stop();
      await eventually(async () => isRedisDown(client), 15_000, 'the client to see the outage');
      const [a, b] = [await open.check(req), await closed.check(req)];
      expect([a.allowed, a.code, a.degraded]).toEqual([true, 'VALID', true]);
      expect([b.allowed, b.code, b.degraded]).toEqual([false, 'RATE_LIMITED', true]);
      // Not a deadline that ran out: the command was never sent.
      expect(errors.map((e) => e.name)).toEqual(['RedisDownError', 'RedisDownError']);
    } finally {
      await redisServer.start();
      client.disconnect();
    }
  });

  test('an API process logs the outage once and its end, as JSON lines, and verifications keep answering', async () => {
    const prefix = 'kwapi';
    const acct = await createAccountWithMasterKey(iso.db, `faults-${Date.now()}`);
    const api = spawnCli(['api'], {
      DATABASE_URL: iso.url,
      REDIS_URL: redisServer.url,
      KEYWARDEN_REDIS_PREFIX: prefix,
      PORT: '0',
      KEYWARDEN_BOOTSTRAP: 'false',
      KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    });
    try {
      const [, url] = await api.waitFor(/"url":"(http:\/\/[^"]+)"/, 90_000);
      const created = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${acct.secret}` },
        body: JSON.stringify({ query: 'mutation { createKey(input: { name: "agent", type: PRODUCTION }) { secret } }' }),
      });
      const secret = ((await created.json()) as any).data.createKey.secret as string;
      const verify = async () => {
        const r = await fetch(`${url}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: secret }) });
        return ((await r.json()) as any).code as string;
      };
      expect(await verify()).toBe('VALID');
      await redisServer.stop();
      await api.waitFor(/Redis unreachable/, 30_000);
      const codes: string[] = [];
      for (let i = 0; i < 20; i++) codes.push(await verify());
      // RATE_LIMIT_FAILURE_MODE=open: let through uncounted.
      expect(new Set(codes)).toEqual(new Set(['VALID']));
      await redisServer.start();
      await api.waitFor(/Redis reachable again/, 30_000);
      expect(await verify()).toBe('VALID');
      const lines = api
        .stdout()
        .split('\n')
        .filter((l) => l.trim() !== '');
      // Everything on stdout is a JSON log line: no raw client errors.
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      expect(api.stderr()).toBe('');
      const messages = lines.map((l) => JSON.parse(l).msg as string);
      expect(messages.filter((m) => /Redis unreachable/.test(m))).toHaveLength(1);
      expect(messages.filter((m) => /Redis reachable again/.test(m))).toHaveLength(1);
      expect(messages.filter((m) => /limits check|Redis error|usage tallies|subscriber/i.test(m))).toEqual([]);
      // Nothing of the outage is logged as an error: it is one warning when it starts and one when it ends.
      expect(lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      api.child.kill('SIGTERM');
      await api.exited;
    }
  });
});

describe('closed failure mode during an outage', () => {
  let h: Harness;
  beforeAll(async () => {
    process.env.REDIS_URL = redisServer.url;
    process.env.KEYWARDEN_REDIS_PREFIX = 'kwclosed';
    h = await startHarness({ db: iso.db, app: { failureMode: 'closed', detectors: { windowMs: 60_000, rateLimitThreshold: 3, failedAuthThreshold: 1000 } } });
  });
  afterAll(() => h?.close());

  const violations = (keyId: string) => iso.db.prisma.securityEvent.count({ where: { keyId, kind: 'RATE_LIMIT_VIOLATION' } });
  const codes = async (secret: string, n: number) => {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push((await h.verify({ key: secret })).body.code);
    return seen;
  };

  test('denials because Redis is hung or down raise no RATE_LIMIT_VIOLATION; a real flood still does', async () => {
    const acct = await h.newAccount('closed-outage');
    const hung = await createKey(h, acct.secret, { name: 'hung', rateLimits: [{ window: 'MINUTE', limit: 1000 }] });
    const gone = await createKey(h, acct.secret, { name: 'gone', rateLimits: [{ window: 'MINUTE', limit: 1000 }] });
    const flood = await createKey(h, acct.secret, { name: 'flood', rateLimits: [{ window: 'MINUTE', limit: 1 }] });
    expect(await codes(hung.secret, 1)).toEqual(['VALID']);

    // Hung: each check misses its deadline while the connection stays up.
    redisServer.pause();
    try {
      expect(new Set(await codes(hung.secret, 5))).toEqual(new Set(['RATE_LIMITED']));
    } finally {
      redisServer.resume();
    }
    // Down: the client knows it is disconnected and the failure mode decides at once.
    await redisServer.stop();
    try {
      await eventually(async () => isRedisDown(h.redis), 15_000, 'the client to see the outage');
      expect(new Set(await codes(gone.secret, 5))).toEqual(new Set(['RATE_LIMITED']));
    } finally {
      await redisServer.start();
    }
    await eventually(async () => h.redis.status === 'ready', 15_000, 'the client back');

    // Abuse is still seen (and, recorded after the outage's denials, shows they had their chance).
    expect((await codes(flood.secret, 5)).slice(1)).toEqual(Array(4).fill('RATE_LIMITED'));
    await eventually(async () => (await violations(flood.key.id)) === 1, 15_000, 'the flood recorded');
    expect([await violations(hung.key.id), await violations(gone.key.id)]).toEqual([0, 0]);
  });
});

describe('key invalidation while Redis is down', () => {
  test('cached keys older than the bound are read again while the channel is down; normal caching resumes once it is back', async () => {
    const publisher = createRedis(redisServer.url);
    const subscriber = createRedis(redisServer.url, { maxRetriesPerRequest: null });
    let loads = 0;
    const resolved = { id: 'k1', chainIds: ['k1'] } as unknown as ResolvedKey;
    const cache = new KeyCache(async () => {
      loads++;
      return resolved;
    });
    const unwire = await wireInvalidation({ cache, publisher, subscriber, prefix: 'kwinv', freshWhileDownMs: 0 });
    try {
      await cache.get('d1');
      await cache.get('d1');
      expect(loads).toBe(1);
      await redisServer.stop();
      await eventually(async () => isRedisDown(subscriber), 15_000, 'the subscriber to see the outage');
      // A revocation published elsewhere now would go unheard: the entry is not trusted past the bound.
      await cache.get('d1');
      await cache.get('d1');
      expect(loads).toBe(3);
      await redisServer.start();
      await eventually(async () => subscriber.status === 'ready', 15_000, 'the subscriber back');
      const before = loads;
      await cache.get('d1');
      await cache.get('d1');
      expect(loads).toBe(before + 1);
    } finally {
      unwire();
      subscriber.disconnect();
      publisher.disconnect();
    }
  });
});
