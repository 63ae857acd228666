import crypto from 'node:crypto';
import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import type { Enqueue } from '../src/events/relay';
import { attemptDelivery, type DeliverySettings } from '../src/webhooks/deliver';
import { createDeliveryBatches } from '../src/webhooks/batches';
import { QUEUES, bullPrefix, type DeliveryJobData } from './queues';

// The webhook delivery worker: a thin shell around attemptDelivery. Many deliveries run at once
// (WEBHOOK_CONCURRENCY), and one endpoint may hold only a few of those slots: a slow or dead
// endpoint's jobs wait their turn in the queue while other endpoints' deliveries go ahead. The
// cap is per process, counted in memory: it costs no round trip per delivery and nothing is left
// held when a process dies; with N workers an endpoint gets at most N times the cap.

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

/** How long a job waits when its endpoint has no free slot. */
function busyDelayMs(): number {
  return 200 + crypto.randomInt(800);
}

export function startDeliveryWorker(opts: DeliveryWorkerOptions): Worker<DeliveryJobData> {
  const inFlight = new Map<string, number>();
  const settings: DeliverySettings = {
    batches: createDeliveryBatches(opts.db),
    retrySchedule: opts.retrySchedule,
    timeoutMs: opts.timeoutMs,
    slots: {
      acquire: async (endpointId) => {
        const held = inFlight.get(endpointId) ?? 0;
        if (held >= opts.perEndpoint) return null;
        inFlight.set(endpointId, held + 1);
        return async () => {
          const left = (inFlight.get(endpointId) ?? 1) - 1;
          if (left > 0) inFlight.set(endpointId, left);
          else inFlight.delete(endpointId);
        };
      },
    },
  };

  const worker = new Worker<DeliveryJobData>(
    QUEUES.deliveries,
    async (job: Job<DeliveryJobData>, token?: string) => {
      const result = await attemptDelivery(opts.db, job.data, settings);
      if (result.kind === 'busy') {
        // Not an attempt: back in the queue shortly, without counting against the job's tries.
        await job.moveToDelayed(Date.now() + busyDelayMs(), token);
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
  worker.on('failed', (job, err) => logger.warn({ err: err.message, deliveryId: job?.data.deliveryId, attempt: job?.data.attempt }, 'webhook delivery job failed'));
  worker.on('error', (err) => logger.error({ err: err.message }, 'webhook delivery worker error'));
  return worker;
}
