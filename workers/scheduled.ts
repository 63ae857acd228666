import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import { noteRedisError } from '../src/infra/redis';
import { requeueOverdueDeliveries, type HandOver } from '../src/events/relay';
import { endRotationGrace, expireKeys, remindRotationDue, warnExpiringKeys } from '../src/keys/scheduled';
import { QUEUES, bullPrefix, type Queues } from './queues';
import type { RelayRunner } from './relay';
import type Redis from 'ioredis';
import { flushUsage, type AnomalyRule } from '../src/reports/usage-flush';
import { expireKeyRequests } from '../src/operators/requests';
import { refillDueCredits } from '../src/keys/credits-refill';

// Periodic scans as BullMQ job schedulers, every SCAN_INTERVAL_SECONDS. A scheduler is one
// record in Redis however many workers upsert it, so each tick runs once somewhere; the scans
// are idempotent anyway, for the moments two ticks overlap.

export const SCANS = ['expiry-warnings', 'expire-keys', 'rotation-reminders', 'end-rotation-grace', 'outbox-sweep', 'flush-usage', 'expire-key-requests', 'refill-credits'] as const;
/** Usage tallies are moved from Redis to PostgreSQL more often than the other scans run. */
const USAGE_FLUSH_SECONDS = 5;
export type ScanName = (typeof SCANS)[number];

export interface ScanDeps {
  db: Database;
  redis: Redis;
  redisPrefix: string;
  usageAnomaly?: AnomalyRule;
  relay: RelayRunner;
  /** The overdue sweep's hand-over (handOverInto). */
  handOver: HandOver;
  expiryWarningDays: readonly number[];
  /** A pending delivery this overdue has lost its job (see requeueOverdueDeliveries). */
  overdueGraceMs: number;
  /** Jobs waiting in the deliveries queue. */
  deliveriesWaiting: () => Promise<number>;
}

export async function runScan(name: ScanName, deps: ScanDeps): Promise<Record<string, number>> {
  switch (name) {
    case 'expiry-warnings':
      return { emitted: await warnExpiringKeys(deps.db, deps.expiryWarningDays) };
    case 'expire-keys':
      return { expired: await expireKeys(deps.db) };
    case 'rotation-reminders':
      return { emitted: await remindRotationDue(deps.db) };
    case 'end-rotation-grace':
      return { revoked: await endRotationGrace(deps.db) };
    case 'expire-key-requests':
      return { expired: await expireKeyRequests(deps.db) };
    case 'refill-credits':
      return { refilled: await refillDueCredits(deps.db) };
    case 'flush-usage': {
      const flushed = await flushUsage(deps.db, deps.redis, deps.redisPrefix, { rule: deps.usageAnomaly });
      return { rollups: flushed.rows, countries: flushed.countries };
    }
    case 'outbox-sweep': {
      await deps.relay.trigger();
      // Behind a backlog, a delivery is overdue while its batch job still waits, and a job of its
      // own would send it twice: hand deliveries over again only once the queue has caught up.
      if ((await deps.deliveriesWaiting()) > 0) return { requeued: 0, postponed: 1 };
      return { requeued: await requeueOverdueDeliveries(deps.db, deps.handOver, { graceMs: deps.overdueGraceMs }) };
    }
  }
}

export async function scheduleScans(queues: Queues, intervalSeconds: number): Promise<void> {
  for (const name of SCANS) {
    const every = (name === 'flush-usage' ? Math.min(USAGE_FLUSH_SECONDS, intervalSeconds) : intervalSeconds) * 1000;
    await queues.scheduled.upsertJobScheduler(name, { every }, { name, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  }
}

/** How often the schedulers are checked for (Redis may lose them without a reconnect: a failover, a flush). */
export const SCHEDULER_CHECK_MS = 30_000;

/**
 * The schedulers live in Redis only: a restart without persistence or a failover to an empty
 * replica loses them, and every scan would stop until the next worker start. Re-creates missing
 * ones whenever the queue's connection is ready again and every `checkMs`. Returns stop().
 */
export function keepScansScheduled(queues: Queues, intervalSeconds: number, connection: Redis, checkMs = SCHEDULER_CHECK_MS): () => void {
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const missing: string[] = [];
      for (const name of SCANS) if (!(await queues.scheduled.getJobScheduler(name))) missing.push(name);
      if (missing.length === 0) return;
      await scheduleScans(queues, intervalSeconds);
      logger.warn({ missing }, 'scan schedulers were missing from Redis (it lost its data?); re-created');
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not check the scan schedulers; trying again later');
    } finally {
      running = false;
    }
  };
  const onReady = () => void check();
  connection.on('ready', onReady);
  const timer = setInterval(onReady, checkMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    connection.off('ready', onReady);
  };
}

export function startScheduledWorker(opts: ScanDeps & { connection: ConnectionOptions; lockMs: number }): Worker {
  const worker = new Worker(
    QUEUES.scheduled,
    async (job: Job) => {
      if (!(SCANS as readonly string[]).includes(job.name)) return { ignored: job.name };
      const result = await runScan(job.name as ScanName, opts);
      // The usage flush runs every few seconds under traffic: keep it out of the info log.
      if (Object.values(result).some((n) => n > 0)) logger[job.name === 'flush-usage' ? 'debug' : 'info']({ scan: job.name, ...result }, 'scheduled scan');
      return result;
    },
    {
      connection: opts.connection,
      prefix: bullPrefix(opts.redisPrefix),
      // Scans are database-bound and batched: one at a time per process is plenty.
      concurrency: 1,
      lockDuration: opts.lockMs,
      stalledInterval: opts.lockMs,
    },
  );
  worker.on('failed', (job, err) => logger.error({ err: err.message, scan: job?.name }, 'scheduled scan failed'));
  worker.on('error', (err) => noteRedisError(err, 'scheduled scan worker'));
  return worker;
}
