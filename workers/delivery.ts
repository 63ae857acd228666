import { Semaphore } from 'async-mutex';
import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import { noteRedisError } from '../src/infra/redis';
import type { DeliveryJob, Enqueue } from '../src/events/relay';
import { attemptDelivery, type AttemptResult, type DeliverySettings } from '../src/webhooks/deliver';
import { createDeliveryBatches } from '../src/webhooks/batches';
import { EndpointSlots } from '../src/webhooks/slots';
import { ParkingLot } from '../src/webhooks/parking';
import { QUEUES, bullPrefix, type DeliveryJobData, type DeliveryQueueData } from './queues';

// The webhook delivery worker: a thin shell around attemptDelivery. Many deliveries run at once
// (WEBHOOK_CONCURRENCY POSTs), and one endpoint may hold only a few of those slots
// (EndpointSlots): a slow or dead endpoint's deliveries are parked in memory behind it (Lot) and
// attempted as its slots free, out of the queue, while other endpoints' deliveries go ahead.
// With N workers an endpoint gets at most N times the cap.
//
// A job holds one attempt or a batch of them (queues.ts). Up to twice WEBHOOK_CONCURRENCY
// attempts are under way at once, so the next ones are loaded while POSTs are in flight; the
// rest of a batch waits for its turn in memory, and its deliveries are read only then.

/** How long a delivery waits in line for a busy endpoint before it is parked. */
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

export interface DeliveryWorker {
  worker: Worker<DeliveryQueueData>;
  /** Deliveries parked behind their busy endpoint in this process. */
  parked(): number;
  /** Stops taking jobs, waits for those in flight, and hands the parked deliveries back to the queue. */
  close(): Promise<void>;
}

/**
 * The deliveries parked behind their busy endpoints (src/webhooks/parking.ts) and the attempts
 * made of them: when an endpoint's slot frees, its oldest parked delivery is attempted at once,
 * outside the queue. Batches of attempts are settled here too.
 */
class Lot {
  closing = false;
  private readonly parking = new ParkingLot();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly slots: EndpointSlots,
    private readonly attempt: (ref: DeliveryJobData) => Promise<AttemptResult>,
    private readonly enqueue: Enqueue,
  ) {
    slots.onFree((endpointId) => this.resume(endpointId));
  }

  /** Parks a busy endpoint's delivery (null); when full or closing, the job to queue instead, after the endpoint's busy delay. */
  park(endpointId: string, ref: DeliveryJobData): DeliveryJob | null {
    if (!this.closing && this.parking.park(endpointId, ref)) return null;
    return { ...ref, delayMs: this.slots.busyDelayMs(endpointId) };
  }

  size(): number {
    return this.parking.size();
  }

  private resume(endpointId: string): void {
    const ref = this.closing ? undefined : this.parking.next(endpointId);
    if (!ref) return;
    const run = this.attempt(ref)
      .then(
        (result) => {
          const next = result.kind === 'busy' ? this.park(result.endpointId, ref) : result.kind === 'retry' ? result.next : null;
          if (next) return this.enqueue([next]);
        },
        (err: Error) => {
          logger.warn({ err: err?.message ?? String(err), deliveryId: ref.deliveryId, attempt: ref.attempt }, 'parked webhook delivery attempt failed; handed back to the queue');
          return this.enqueue([{ ...ref, delayMs: THROWN_DELAY_MS }]);
        },
      )
      .catch((err: Error) => logger.warn({ err: err?.message, deliveryId: ref.deliveryId }, 'could not hand a parked delivery back; the overdue sweep will'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /**
   * Every attempt of a batch, each on its own: a busy endpoint's delivery is parked, retries are
   * handed over together, and an attempt that threw (the database was away, say) goes back alone,
   * to be retried as its own job. The batch job itself always completes: run again, it would
   * send its parked deliveries a second time.
   */
  async attemptBatch(batch: DeliveryJobData[]): Promise<Record<AttemptResult['kind'] | 'thrown', number>> {
    const settled = await Promise.allSettled(batch.map(this.attempt));
    const counts = { skipped: 0, busy: 0, succeeded: 0, retry: 0, failed: 0, thrown: 0 };
    const handBack = settled.flatMap((s, i) => {
      if (s.status === 'rejected') {
        counts.thrown++;
        logger.warn({ err: (s.reason as Error)?.message ?? String(s.reason), deliveryId: batch[i].deliveryId, attempt: batch[i].attempt }, 'webhook delivery attempt failed; handed back to the queue');
        return [{ ...batch[i], delayMs: THROWN_DELAY_MS }];
      }
      counts[s.value.kind]++;
      if (s.value.kind === 'retry') return [s.value.next];
      if (s.value.kind === 'busy') return [this.park(s.value.endpointId, batch[i])].filter((j) => j !== null);
      return [];
    });
    await this.enqueue(handBack);
    return counts;
  }

  /** Waits for the parked attempts under way and hands the rest back to the queue. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.running]);
    const parked = this.parking.drain();
    if (parked.length > 0) await this.enqueue(parked.map((ref) => ({ ...ref, delayMs: 0 })));
  }
}

export function startDeliveryWorker(opts: DeliveryWorkerOptions): DeliveryWorker {
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
  const lot = new Lot(endpointSlots, attempt, opts.enqueue);

  const worker = new Worker<DeliveryQueueData>(
    QUEUES.deliveries,
    async (job: Job<DeliveryQueueData>, token?: string) => {
      if ('batch' in job.data) return lot.attemptBatch(job.data.batch);
      const result = await attempt(job.data);
      if (result.kind === 'busy') {
        const back = lot.park(result.endpointId, job.data);
        if (!back) return { kind: 'parked' };
        // The lot is full: back in the queue shortly, without counting against the job's tries.
        await job.moveToDelayed(Date.now() + back.delayMs, token);
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
  return {
    worker,
    parked: () => lot.size(),
    async close() {
      lot.closing = true;
      await worker.close();
      await lot.close();
    },
  };
}
