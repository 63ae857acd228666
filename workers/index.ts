import type Redis from 'ioredis';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import { keyChanges } from '../src/keys/events';
import { publishLive, type RelayedEvent } from '../src/events/live';
import { keyInvalidationChannel as invalidationChannel } from '../src/infra/redis-keys';
import { startDeliveryWorker } from './delivery';
import { DELIVERY_BATCH, enqueueInto, handOverInto, openQueues, queueConnection } from './queues';
import { RelayRunner } from './relay';
import { keepScansScheduled, scheduleScans, startScheduledWorker } from './scheduled';
import type { AnomalyRule } from '../src/reports/usage-flush';

// The worker role: outbox relay, webhook delivery and the scheduled scans. `keywarden worker`
// runs only this; `npm start` runs it beside the API. close() stops taking work and waits for the
// jobs in flight (SIGTERM drains).

export interface Workers {
  close(): Promise<void>;
  /** Relays the outbox now (tests, and the outbox sweep). */
  relayNow(): Promise<void>;
}

export interface WorkerSettings {
  redisUrl: string;
  /** Unset on the embedded store: the relay then follows this process's own writes. */
  databaseUrl?: string;
  retrySchedule: readonly number[];
  timeoutMs: number;
  expiryWarningDays: readonly number[];
  scanIntervalSeconds: number;
  concurrency: number;
  lockSeconds: number;
  /** How overdue a pending delivery must be before the sweep hands it over again (default: well past any attempt in flight). */
  overdueGraceMs?: number;
  /** Deliveries one endpoint may have in flight in one process (default: a fifth of concurrency, at least 2). */
  perEndpoint?: number;
  /**
   * In a worker-only process nothing else tells other instances' verify caches about keys the
   * scans change: publish them on the invalidation channel here.
   */
  publishKeyChanges?: boolean;
  /** USAGE_ANOMALY rule (see src/reports/usage-flush.ts). */
  usageAnomaly?: AnomalyRule;
  /** How often the scan schedulers are checked for in Redis and re-created when lost (default 30 s). */
  schedulerCheckMs?: number;
  /** BullMQ's first backoff after a delivery job threw (default 1 s, doubling over 5 tries; tests shorten it). */
  jobBackoffMs?: number;
}

export async function startWorkers(deps: { db: Database; redis: Redis; prefix: string; settings: WorkerSettings }): Promise<Workers> {
  const { db, redis, prefix, settings } = deps;
  const lockMs = settings.lockSeconds * 1000;
  const connection = queueConnection(settings.redisUrl, 'queue');
  const queues = openQueues(connection, prefix);
  const enqueue = enqueueInto(queues.deliveries, { batchSize: DELIVERY_BATCH, backoffMs: settings.jobBackoffMs });
  const publishRelayed = (events: RelayedEvent[]) => publishLive(redis, prefix, events).catch((err) => logger.warn({ err: (err as Error).message }, 'could not publish live updates'));
  const relay = new RelayRunner(db, enqueue, settings.databaseUrl, publishRelayed);

  const publish = (ids: string[]) => {
    redis.publish(invalidationChannel(prefix), JSON.stringify(ids)).catch((err) => logger.error({ err }, 'could not publish key invalidation'));
  };
  if (settings.publishKeyChanges) keyChanges.on('changed', publish);

  const deliveryConnection = queueConnection(settings.redisUrl, 'deliveries');
  const scanConnection = queueConnection(settings.redisUrl, 'scans');
  const deliveries = startDeliveryWorker({
    db,
    connection: deliveryConnection,
    redisPrefix: prefix,
    enqueue,
    retrySchedule: settings.retrySchedule,
    timeoutMs: settings.timeoutMs,
    concurrency: settings.concurrency,
    perEndpoint: settings.perEndpoint ?? Math.max(2, Math.ceil(settings.concurrency / 5)),
    lockMs,
  });
  const scans = startScheduledWorker({
    db,
    redis,
    usageAnomaly: settings.usageAnomaly,
    relay,
    // One job per attempt, under the id a job still queued for the same attempt has.
    handOver: handOverInto(queues.deliveries, { backoffMs: settings.jobBackoffMs }),
    deliveriesWaiting: () => queues.deliveries.getWaitingCount(),
    expiryWarningDays: settings.expiryWarningDays,
    // Well past any attempt in flight, so a job that is merely slow is not handed over twice.
    overdueGraceMs: settings.overdueGraceMs ?? Math.max(2 * lockMs, settings.timeoutMs + 5000),
    connection: scanConnection,
    redisPrefix: prefix,
    lockMs,
  });
  await relay.start();
  await scheduleScans(queues, settings.scanIntervalSeconds);
  const stopKeeping = keepScansScheduled(queues, settings.scanIntervalSeconds, connection, settings.schedulerCheckMs);
  logger.info({ concurrency: settings.concurrency, scanIntervalSeconds: settings.scanIntervalSeconds, relay: settings.databaseUrl ? 'listen' : 'in-process' }, 'workers started');

  return {
    relayNow: () => relay.trigger(),
    async close() {
      stopKeeping();
      await relay.stop();
      // Waits for the jobs in flight: a delivery under way is finished and recorded.
      await Promise.all([deliveries.close(), scans.close()]);
      await Promise.all([queues.deliveries.close(), queues.scheduled.close()]);
      keyChanges.off('changed', publish);
      for (const c of [connection, deliveryConnection, scanConnection]) c.disconnect();
    },
  };
}
