import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { migratePostgres, openDatabase, type Database } from '../../src/infra/db';
import { createRedis } from '../../src/infra/redis';
import { startWorkers, type Workers } from '../../workers';
import { QUEUES, bullPrefix } from '../../workers/queues';
import { startHarness, type Harness } from '../helpers/harness';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from '../helpers/servers';
import { FAST_SETTINGS, configureTestWebhooks, createEndpoint, createKey, eventually } from '../helpers/webhooks';

// PostgreSQL outages, with a PostgreSQL and a Redis of this file's own (stopped and started
// here; the shared servers are never touched).

jest.setTimeout(120_000);

let pg: OwnPostgres;
let redisServer: OwnRedis;
let db: Database;
let h: Harness;
let rx: Receiver;
const prefix = 'kwfault';

beforeAll(async () => {
  configureTestWebhooks();
  [pg, redisServer] = await Promise.all([startOwnPostgres(), startOwnRedis()]);
  process.env.REDIS_URL = redisServer.url;
  process.env.KEYWARDEN_REDIS_PREFIX = prefix;
  const url = await pg.createDatabase('kw_fault');
  await migratePostgres(url, { info: () => {} });
  db = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', migrate: false });
  h = await startHarness({ db });
  rx = await startReceiver();
});
afterAll(async () => {
  await rx?.close();
  await h?.close();
  await db?.close().catch(() => {});
  await pg?.destroy();
  await redisServer?.stop();
});

async function workersOn(url: string, redis: Redis, extra: Record<string, unknown> = {}): Promise<Workers> {
  return startWorkers({ db, redis, prefix, settings: { redisUrl: redisServer.url, databaseUrl: url, ...FAST_SETTINGS, ...extra } });
}

test('deliveries whose jobs failed for good during a PostgreSQL outage are handed over again and delivered once it is back', async () => {
  const acct = await h.newAccount('pg-outage');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  // Every first attempt fails, so each delivery's next attempt is a delayed job that comes due
  // while PostgreSQL is down.
  rx.reply((r) => (r.n <= 5 ? { status: 503 } : undefined));
  const redis = createRedis(redisServer.url);
  const queueConnection = createRedis(redisServer.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.deliveries, { connection: queueConnection, prefix: bullPrefix(prefix) });
  const workers = await workersOn(`postgresql://postgres@127.0.0.1:${pg.port}/kw_fault`, redis, {
    retrySchedule: [3, 3],
    jobBackoffMs: 50,
    scanIntervalSeconds: 1,
    overdueGraceMs: 500,
  });
  try {
    for (let i = 0; i < 5; i++) await createKey(h, acct.secret, { name: `k${i}` });
    await eventually(async () => (await db.prisma.webhookDelivery.count({ where: { endpointId: ep.endpoint.id, attemptCount: 1 } })) === 5, 30_000, 'five first attempts recorded');
    await pg.stop();
    // The retries come due, throw (no database) and use up their job's tries.
    await eventually(async () => (await queue.getFailedCount()) >= 1 && (await queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized')) === 0, 60_000, 'retry jobs failed for good');
    await pg.start();
    const settled = await eventually(
      async () => {
        const rows = await db.prisma.webhookDelivery.findMany({ where: { endpointId: ep.endpoint.id } });
        return rows.every((d) => d.status === 'SUCCEEDED') && rows;
      },
      30_000,
      'every delivery SUCCEEDED after the outage',
    );
    expect(settled).toHaveLength(5);
  } finally {
    await workers.close();
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
  }
});
