import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import type { Enqueue } from '../src/events/relay';
import { attemptDelivery, type DeliverySettings } from '../src/webhooks/deliver';
import { createDeliveryBatches } from '../src/webhooks/batches';
import { EndpointSlots } from '../src/webhooks/slots';
import { QUEUES, bullPrefix, type DeliveryJobData } from './queues';

// The webhook delivery worker: a thin shell around attemptDelivery. Many deliveries run at once
// (WEBHOOK_CONCURRENCY), and one endpoint may hold only a few of those slots (EndpointSlots): a
// slow or dead endpoint's jobs wait their turn in the queue while other endpoints' deliveries go
// ahead. With N workers an endpoint gets at most N times the cap.

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

export function startDeliveryWorker(opts: DeliveryWorkerOptions): Worker<DeliveryJobData> {
  const endpointSlots = new EndpointSlots(opts.perEndpoint);
  const settings: DeliverySettings = {
    batches: createDeliveryBatches(opts.db),
    retrySchedule: opts.retrySchedule,
    timeoutMs: opts.timeoutMs,
    slots: endpointSlots,
  };

  const worker = new Worker<DeliveryJobData>(
    QUEUES.deliveries,
    async (job: Job<DeliveryJobData>, token?: string) => {
      const result = await attemptDelivery(opts.db, job.data, settings);
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
  worker.on('failed', (job, err) => logger.warn({ err: err.message, deliveryId: job?.data.deliveryId, attempt: job?.data.attempt }, 'webhook delivery job failed'));
  worker.on('error', (err) => logger.error({ err: err.message }, 'webhook delivery worker error'));
  return worker;
}
