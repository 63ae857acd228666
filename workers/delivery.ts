import { Semaphore } from 'async-mutex';
import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import { noteRedisError } from '../src/infra/redis';
import type { Enqueue } from '../src/events/relay';
import { attemptDelivery, type AttemptResult, type DeliverySettings } from '../src/webhooks/deliver';
import { createDeliveryBatches } from '../src/webhooks/batches';
import { EndpointSlots } from '../src/webhooks/slots';
import { QUEUES, bullPrefix, type DeliveryJobData, type DeliveryQueueData } from './queues';

// The webhook delivery worker: a thin shell around attemptDelivery. Many deliveries run at once
// (WEBHOOK_CONCURRENCY POSTs), and one endpoint may hold only a few of those slots
// (EndpointSlots): a slow or dead endpoint's deliveries wait their turn in the queue while other
// endpoints' deliveries go ahead. With N workers an endpoint gets at most N times the cap.
//
// A job holds one attempt or a batch of them (queues.ts). Up to twice WEBHOOK_CONCURRENCY
// attempts are under way at once, so the next ones are loaded while POSTs are in flight; the
// rest of a batch waits for its turn in memory, and its deliveries are read only then.

/** How long a delivery waits in line for a busy endpoint before it goes back to the queue. */
export const ENDPOINT_WAIT_MS = 100;
/** When an attempt of a batch threw, its own job runs after this long (as a failed job's first backoff). */
const THROWN_DELAY_MS = 1000;

export interface DeliveryWorkerOptions {
  db: Database;
  connection: ConnectionOptions;
  redisPrefix: string;
  enqueue: Enqueue;
  retrySchedule: readonly number[];
  timeoutMs: number;
  concurrency: number;
  /** Deliveries one endpoint may have in flight at once in this process. */
  perEndpoint: number;
  lockMs: number;
}

/**
 * Every attempt of a batch, each on its own: a busy endpoint's delivery goes back to the queue
 * alone, retries are handed over together, and an attempt that threw (the database was away,
 * say) goes back alone too, to be retried as its own job. The batch job itself always completes:
 * run again, it would send its busy deliveries a second time.
 */
async function attemptBatch(
  batch: DeliveryJobData[],
  attempt: (ref: DeliveryJobData) => Promise<AttemptResult>,
  endpointSlots: EndpointSlots,
  enqueue: DeliveryWorkerOptions['enqueue'],
): Promise<Record<AttemptResult['kind'] | 'thrown', number>> {
  const settled = await Promise.allSettled(batch.map(attempt));
  const counts = { skipped: 0, busy: 0, succeeded: 0, retry: 0, failed: 0, thrown: 0 };
  const handBack = settled.flatMap((s, i) => {
    if (s.status === 'rejected') {
      counts.thrown++;
      logger.warn({ err: (s.reason as Error)?.message ?? String(s.reason), deliveryId: batch[i].deliveryId, attempt: batch[i].attempt }, 'webhook delivery attempt failed; handed back to the queue');
      return [{ ...batch[i], delayMs: THROWN_DELAY_MS }];
    }
    counts[s.value.kind]++;
    if (s.value.kind === 'retry') return [s.value.next];
    if (s.value.kind === 'busy') return [{ ...batch[i], delayMs: endpointSlots.busyDelayMs(s.value.endpointId) }];
    return [];
  });
  await enqueue(handBack);
  return counts;
}

export function startDeliveryWorker(opts: DeliveryWorkerOptions): Worker<DeliveryQueueData> {
  const endpointSlots = new EndpointSlots(opts.perEndpoint);
  const settings: DeliverySettings = {
    batches: createDeliveryBatches(opts.db),
    retrySchedule: opts.retrySchedule,
    timeoutMs: opts.timeoutMs,
    slots: endpointSlots,
    endpointWaitMs: ENDPOINT_WAIT_MS,
    posts: new Semaphore(opts.concurrency),
  };
  const underWay = new Semaphore(2 * opts.concurrency);
  const attempt = (ref: DeliveryJobData): Promise<AttemptResult> => underWay.runExclusive(() => attemptDelivery(opts.db, ref, settings));

  const worker = new Worker<DeliveryQueueData>(
    QUEUES.deliveries,
    async (job: Job<DeliveryQueueData>, token?: string) => {
      if ('batch' in job.data) return attemptBatch(job.data.batch, attempt, endpointSlots, opts.enqueue);
      const result = await attempt(job.data);
      if (result.kind === 'busy') {
        // Not an attempt: back in the queue shortly, without counting against the job's tries.
        await job.moveToDelayed(Date.now() + endpointSlots.busyDelayMs(result.endpointId), token);
        throw new DelayedError();
      }
      if (result.kind === 'retry') await opts.enqueue([result.next]);
      return result;
    },
    {
      connection: opts.connection,
      prefix: bullPrefix(opts.redisPrefix),
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs,
      stalledInterval: opts.lockMs,
      // A job whose worker died is taken over; after a few deaths it fails and the overdue sweep
      // hands the delivery over again later.
      maxStalledCount: 3,
    },
  );
  worker.on('failed', (job, err) => {
    const attempts = job ? ('batch' in job.data ? job.data.batch : [job.data]) : [];
    logger.warn({ err: err.message, attempts: attempts.map((a) => `${a.deliveryId}#${a.attempt}`) }, 'webhook delivery job failed');
  });
  worker.on('error', (err) => noteRedisError(err, 'webhook delivery worker'));
  return worker;
}
