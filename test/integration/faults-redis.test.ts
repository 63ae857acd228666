import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { createRedis } from '../../src/infra/redis';
import { startWorkers, type Workers } from '../../workers';
import { QUEUES, bullPrefix } from '../../workers/queues';
import { SCANS } from '../../workers/scheduled';
import { startOwnRedis, type OwnRedis } from '../helpers/servers';
import { FAST_SETTINGS, configureTestWebhooks, eventually, isolatedDatabase, type IsolatedDatabase } from '../helpers/webhooks';

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
