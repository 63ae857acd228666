import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type Redis from 'ioredis';
import { createRedis, noteRedisError } from '../src/infra/redis';
import { bullPrefix } from '../src/infra/redis-keys';
import type { DeliveryJob, Enqueue, HandOver } from '../src/events/relay';

// Queue names, Redis layout and job ids, in one place. Every BullMQ key is
// `<KEYWARDEN_REDIS_PREFIX>:{bull}:<queue>:...`: the deployment's prefix first (several
// deployments can share one Redis), and one hash tag so a queue's keys share a Cluster slot.

export const QUEUES = { deliveries: 'webhook-deliveries', scheduled: 'scheduled-scans' } as const;

export { bullPrefix };

/**
 * BullMQ blocks on its connections: they must retry forever rather than fail a command. No
 * auto-pipelining: BullMQ sends a script or two per job and waits for each, so batching them per
 * turn only adds a Pipeline per command (measured: ~95 rather than ~150 µs of CPU per job, and
 * a third more jobs per second at concurrency 50).
 */
export function queueConnection(redisUrl: string, role: string): Redis {
  return createRedis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: false, purpose: role });
}

/** One delivery attempt: retries, deliveries sent back while their endpoint was busy, the overdue sweep's hand-overs. */
export interface DeliveryJobData {
  deliveryId: string;
  attempt: number;
}

/**
 * Attempts handed over together and due now (a relay batch's new deliveries): one job for up to
 * DELIVERY_BATCH of them, since BullMQ's own work per job (a script or two in Redis, and about as
 * much CPU in the worker) cost as much as the rest of an attempt. Each attempt in it is still
 * made, recorded and retried on its own.
 */
export interface DeliveryBatchJobData {
  batch: DeliveryJobData[];
}

export type DeliveryQueueData = DeliveryJobData | DeliveryBatchJobData;

/** Measured at concurrency 50: 10 to 50 did about as well, all far better than 1. */
export const DELIVERY_BATCH = 20;

/**
 * One job per delivery attempt, keyed by both: a second hand-over of the same attempt (relay and
 * sweep racing, or two relays) finds the job and adds nothing. Completed jobs are removed at once
 * so that a redelivery can reuse its next attempt number; failed ones (errors, not HTTP failures,
 * which are recorded and retried as attempts) stay an hour for the dashboard.
 */
export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { age: 3600 },
};

/** The job options, with BullMQ's first backoff after a thrown attempt (default 1 s; tests shorten it). */
function jobOptionsWith(backoffMs?: number): JobsOptions {
  return backoffMs === undefined ? DELIVERY_JOB_OPTIONS : { ...DELIVERY_JOB_OPTIONS, backoff: { type: 'exponential', delay: backoffMs } };
}

export function deliveryJobId(job: Pick<DeliveryJob, 'deliveryId' | 'attempt'>): string {
  return `${job.deliveryId}-${job.attempt}`;
}

/**
 * Hands attempts to the queue in one round trip: those due now in batches of up to `batchSize`
 * (1: every attempt its own job, under the id a second hand-over finds), the others one by one
 * with their delay. A batch's id names its first attempt and its size; nothing else hands the
 * same attempts over as a batch again, so it never meets another.
 */
export function enqueueInto(queue: Queue<DeliveryQueueData>, opts: { batchSize: number; backoffMs?: number }): Enqueue {
  const jobOptions = jobOptionsWith(opts.backoffMs);
  return async (jobs) => {
    if (jobs.length === 0) return;
    const single = (j: DeliveryJob) => ({
      name: 'deliver',
      data: { deliveryId: j.deliveryId, attempt: j.attempt },
      opts: { ...jobOptions, jobId: deliveryJobId(j), delay: Math.max(0, Math.round(j.delayMs)) },
    });
    const due = jobs.filter((j) => Math.round(j.delayMs) <= 0);
    const added: { name: string; data: DeliveryQueueData; opts: JobsOptions }[] = jobs.filter((j) => Math.round(j.delayMs) > 0).map(single);
    for (let i = 0; i < due.length; i += opts.batchSize) {
      const group = due.slice(i, i + opts.batchSize);
      added.push(
        group.length === 1
          ? single(group[0])
          : { name: 'deliver', data: { batch: group.map((j) => ({ deliveryId: j.deliveryId, attempt: j.attempt })) }, opts: { ...jobOptions, jobId: `batch-${deliveryJobId(group[0])}-${group.length}` } },
      );
    }
    await queue.addBulk(added);
  };
}

/** A job in one of these states still makes its attempt; any other (failed, completed, gone) does not. */
const UNDER_WAY = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * The overdue sweep's hand-over: one job per attempt, under the attempt's id. BullMQ ignores an
 * add under an id it still holds, and keeps a job that used up its tries in the failed set for
 * an hour: such a job is removed first, so the attempt is made again (a delivery that failed
 * throughout a database outage would otherwise stay pending). Counts only the jobs it added.
 */
export function handOverInto(queue: Queue<DeliveryQueueData>, opts: { backoffMs?: number } = {}): HandOver {
  const jobOptions = jobOptionsWith(opts.backoffMs);
  return async (jobs) => {
    let added = 0;
    for (const j of jobs) {
      const id = deliveryJobId(j);
      const existing = await queue.getJob(id);
      if (existing) {
        if (UNDER_WAY.has(await existing.getState())) continue;
        // Another sweep may have removed it meanwhile; if one added it again, BullMQ ignores ours.
        await queue.remove(id).catch(() => 0);
      }
      await queue.add('deliver', { deliveryId: j.deliveryId, attempt: j.attempt }, { ...jobOptions, jobId: id, delay: Math.max(0, Math.round(j.delayMs)) });
      added++;
    }
    return added;
  };
}

export function openQueues(connection: ConnectionOptions, redisPrefix: string) {
  const prefix = bullPrefix(redisPrefix);
  const queues = {
    deliveries: new Queue<DeliveryQueueData>(QUEUES.deliveries, { connection, prefix }),
    scheduled: new Queue(QUEUES.scheduled, { connection, prefix }),
  };
  // Unheard, BullMQ prints each connection error to the console, unstructured.
  for (const q of Object.values(queues)) q.on('error', (err) => noteRedisError(err, `queue ${q.name}`));
  return queues;
}

export type Queues = ReturnType<typeof openQueues>;
