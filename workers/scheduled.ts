import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import { requeueOverdueDeliveries, type Enqueue } from '../src/events/relay';
import { endRotationGrace, expireKeys, remindRotationDue, warnExpiringKeys } from '../src/events/scheduled';
import { QUEUES, bullPrefix, type Queues } from './queues';
import type { RelayRunner } from './relay';

// Periodic scans as BullMQ job schedulers, every SCAN_INTERVAL_SECONDS. A scheduler is one
// record in Redis however many workers upsert it, so each tick runs once somewhere; the scans
// are idempotent anyway, for the moments two ticks overlap.

export const SCANS = ['expiry-warnings', 'expire-keys', 'rotation-reminders', 'end-rotation-grace', 'outbox-sweep'] as const;
export type ScanName = (typeof SCANS)[number];

export interface ScanDeps {
  db: Database;
  relay: RelayRunner;
  enqueue: Enqueue;
  expiryWarningDays: readonly number[];
  /** A pending delivery this overdue has lost its job (see requeueOverdueDeliveries). */
  overdueGraceMs: number;
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
    case 'outbox-sweep':
      await deps.relay.trigger();
      return { requeued: await requeueOverdueDeliveries(deps.db, deps.enqueue, { graceMs: deps.overdueGraceMs }) };
  }
}

export async function scheduleScans(queues: Queues, intervalSeconds: number): Promise<void> {
  for (const name of SCANS) {
    await queues.scheduled.upsertJobScheduler(name, { every: intervalSeconds * 1000 }, { name, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  }
}

export function startScheduledWorker(opts: ScanDeps & { connection: ConnectionOptions; redisPrefix: string; lockMs: number }): Worker {
  const worker = new Worker(
    QUEUES.scheduled,
    async (job: Job) => {
      if (!(SCANS as readonly string[]).includes(job.name)) return { ignored: job.name };
      const result = await runScan(job.name as ScanName, opts);
      if (Object.values(result).some((n) => n > 0)) logger.info({ scan: job.name, ...result }, 'scheduled scan');
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
  worker.on('error', (err) => logger.error({ err: err.message }, 'scheduled scan worker error'));
  return worker;
}
