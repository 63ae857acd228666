import type { Queue } from 'bullmq';
import { relayOutbox } from '../../src/events/relay';
import { createRedis } from '../../src/infra/redis';
import { DELIVERY_BATCH, enqueueInto, handOverInto, openQueues, queueConnection, type DeliveryQueueData } from '../../workers/queues';
import { RelayRunner } from '../../workers/relay';
import { runScan, type ScanDeps } from '../../workers/scheduled';
import type { Harness } from '../helpers/harness';
import { createEndpoint, createKey, isolatedPrefix, startIsolatedHarness, type IsolatedDatabase, type IsolatedHarness } from '../helpers/webhooks';

// Deliveries due now go to the queue in batches (one job per DELIVERY_BATCH attempts); retries and
// the overdue sweep's hand-overs go one attempt per job, under the id a second hand-over finds.
// No worker runs here: the tests read the queue itself.

jest.setTimeout(60_000);

let stack: IsolatedHarness;
let iso: IsolatedDatabase;
let h: Harness;
let queue: Queue<DeliveryQueueData>;
let connection: ReturnType<typeof queueConnection>;

beforeAll(async () => {
  stack = await startIsolatedHarness('wk_batches');
  ({ iso, h } = stack);
});
afterAll(() => stack.close());
beforeEach(() => {
  connection = queueConnection(process.env.REDIS_URL!, 'test');
  queue = openQueues(connection, isolatedPrefix('batches')).deliveries;
});
afterEach(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
});

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`);

test('attempts due now go in batches of DELIVERY_BATCH, a lone one and delayed ones as jobs of their own under their attempt ids', async () => {
  const due = ids(2 * DELIVERY_BATCH + 5).map((deliveryId) => ({ deliveryId, attempt: 1, delayMs: 0 }));
  const later = ids(2, 900).map((deliveryId) => ({ deliveryId, attempt: 3, delayMs: 60_000 }));
  await enqueueInto(queue, { batchSize: DELIVERY_BATCH })([...due, ...later]);

  const waiting = await queue.getJobs(['waiting']);
  const batches = waiting.filter((j) => 'batch' in j.data).sort((a, b) => a.id!.localeCompare(b.id!));
  expect(batches.map((j) => ('batch' in j.data ? j.data.batch.length : 0))).toEqual([DELIVERY_BATCH, DELIVERY_BATCH, 5]);
  // Every attempt exactly once, in the order handed over.
  expect(batches.flatMap((j) => ('batch' in j.data ? j.data.batch : []))).toEqual(due.map(({ deliveryId, attempt }) => ({ deliveryId, attempt })));
  expect(batches[0].id).toBe(`batch-${due[0].deliveryId}-1-${DELIVERY_BATCH}`);
  const delayed = await queue.getJobs(['delayed']);
  expect(delayed.map((j) => j.id).sort()).toEqual(later.map((j) => `${j.deliveryId}-3`).sort());
  expect(delayed.map((j) => j.data)).toEqual(expect.arrayContaining(later.map(({ deliveryId, attempt }) => ({ deliveryId, attempt }))));

  // One attempt due now is a job of its own, and handing it over again adds nothing.
  const single = enqueueInto(queue, { batchSize: DELIVERY_BATCH });
  await single([{ deliveryId: ids(1, 500)[0], attempt: 1, delayMs: 0 }]);
  await single([{ deliveryId: ids(1, 500)[0], attempt: 1, delayMs: 0 }]);
  const lone = (await queue.getJobs(['waiting'])).filter((j) => j.id === `${ids(1, 500)[0]}-1`);
  expect(lone.map((j) => j.data)).toEqual([{ deliveryId: ids(1, 500)[0], attempt: 1 }]);
  expect(await queue.getWaitingCount()).toBe(4);
});

test('the overdue sweep hands nothing over while deliveries wait in the queue, then each lost attempt as a job of its own', async () => {
  const acct = await h.newAccount('batches-sweep');
  const ep = await createEndpoint(h, acct.secret, { url: 'http://127.0.0.1:9/hook', eventTypes: ['key.created'] });
  for (let i = 0; i < 3; i++) await createKey(h, acct.secret, { name: `sweep-${i}` });
  // No worker: the relay's batch job waits in the queue, its deliveries pending.
  const batching = enqueueInto(queue, { batchSize: DELIVERY_BATCH });
  expect(await relayOutbox(iso.db, batching)).toEqual({ events: 3, jobs: 3 });
  const pending = await iso.db.prisma.webhookDelivery.findMany({ where: { endpointId: ep.endpoint.id }, orderBy: { id: 'asc' } });
  expect(pending.map((d) => [d.status, d.attemptCount])).toEqual([
    ['PENDING', 0],
    ['PENDING', 0],
    ['PENDING', 0],
  ]);

  const redis = createRedis(process.env.REDIS_URL!);
  const deps: ScanDeps = {
    db: iso.db,
    redis,
    redisPrefix: 'unused',
    relay: new RelayRunner(iso.db, batching, undefined),
    handOver: handOverInto(queue),
    deliveriesWaiting: () => queue.getWaitingCount(),
    expiryWarningDays: [7],
    overdueGraceMs: -60_000, // every pending delivery counts as overdue
  };
  try {
    // The batch job still waits: sending its deliveries again from the sweep would send them twice.
    expect(await runScan('outbox-sweep', deps)).toEqual({ requeued: 0, postponed: 1 });
    const [job, ...others] = await queue.getJobs(['waiting']);
    expect(others).toEqual([]);
    expect('batch' in job.data && job.data.batch.map((a) => a.deliveryId).sort()).toEqual(pending.map((d) => d.id));

    // The job is lost (say, failed after repeated worker deaths and removed): the sweep hands each attempt over alone.
    await queue.drain();
    expect(await runScan('outbox-sweep', deps)).toEqual({ requeued: 3 });
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual(pending.map((d) => `${d.id}-1`).sort());
    // A second sweep finds those jobs waiting and adds nothing.
    expect(await runScan('outbox-sweep', deps)).toEqual({ requeued: 0, postponed: 1 });
    expect(await queue.getWaitingCount()).toBe(3);
  } finally {
    redis.disconnect();
  }
});
