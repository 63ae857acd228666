import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { createRedis } from '../../src/infra/redis';
import type { Workers } from '../../workers';
import { QUEUES, bullPrefix } from '../../workers/queues';
import type { Harness } from '../helpers/harness';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { createEndpoint, createKey, eventually, isolatedPrefix, startIsolatedHarness, startTestWorkers, type IsolatedDatabase, type IsolatedHarness } from '../helpers/webhooks';

// A hanging endpoint with a backlog: its deliveries beyond its share of the worker's slots are
// parked behind it, in memory, instead of cycling through the queue (README, Webhooks and
// workers), and another endpoint's deliveries go ahead while it still hangs.

jest.setTimeout(90_000);

let stack: IsolatedHarness;
let iso: IsolatedDatabase;
let h: Harness;
let workers: Workers;
let queueConnection: Redis;
let queue: Queue;

beforeAll(async () => {
  stack = await startIsolatedHarness('wh_parking');
  ({ iso, h } = stack);
  const prefix = isolatedPrefix('parking');
  // Concurrency 8: an endpoint holds at most 2 slots. Attempts time out after 60 s, so the
  // hanging endpoint's first two hang for the whole test.
  workers = await startTestWorkers({ db: iso.db, url: iso.url, prefix, settings: { concurrency: 8, timeoutMs: 60_000 } });
  queueConnection = createRedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUES.deliveries, { connection: queueConnection, prefix: bullPrefix(prefix) });
});
afterAll(async () => {
  await workers?.close();
  await queue?.close();
  queueConnection?.disconnect();
  await stack.close();
});

test('a hanging endpoint with a backlog: its deliveries are parked, not cycled through the queue, and another endpoint is served while it hangs', async () => {
  const [slowRx, fastRx]: Receiver[] = await Promise.all([startReceiver(), startReceiver()]);
  let slowClosed = false;
  try {
    slowRx.reply(() => ({ hang: true }));
    const acct = await h.newAccount('wh-parking');
    const slow = await createEndpoint(h, acct.secret, { url: slowRx.url, eventTypes: ['key.created'] });
    const fast = await createEndpoint(h, acct.secret, { url: fastRx.url, eventTypes: ['key.created'] });
    for (let i = 0; i < 12; i++) await createKey(h, acct.secret, { name: `k${i}` });
    await eventually(async () => (await iso.db.prisma.webhookDelivery.count({ where: { endpointId: fast.endpoint.id, status: 'SUCCEEDED' } })) === 12, 30_000, 'the fast endpoint served');

    // Its two slots still hang; nothing of the slow endpoint was answered or recorded.
    expect(slowRx.received).toHaveLength(2);
    const slowDeliveries = await iso.db.prisma.webhookDelivery.findMany({ where: { endpointId: slow.endpoint.id } });
    expect(slowDeliveries.map((d) => [d.status, d.attemptCount])).toEqual(Array.from({ length: 12 }, () => ['PENDING', 0]));
    // The other ten wait parked in the worker, not as queue jobs coming round again and again.
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(0);

    // The endpoint goes away: its hanging attempts end, and each freed slot takes a parked delivery.
    await slowRx.close();
    slowClosed = true;
    await eventually(async () => (await iso.db.prisma.webhookDelivery.count({ where: { endpointId: slow.endpoint.id, attemptCount: 0 } })) === 0, 30_000, 'every parked delivery attempted');
  } finally {
    if (!slowClosed) await slowRx.close();
    await fastRx.close();
  }
});
