import crypto from 'node:crypto';
import type { Database } from '../infra/db';
import { clock } from '../infra/clock';
import type { RelayedEvent } from './live';
import { matchesEventType } from './types';

// The relay: after commit, each outbox event becomes one delivery per enabled endpoint whose
// eventTypes match, and each delivery a queue job. Any number of relays may run at once: rows
// are claimed with FOR UPDATE SKIP LOCKED, and a job is keyed by delivery and attempt, so a
// second hand-over of the same attempt is a no-op in the queue and in the worker.
//
// What a crash can leave behind, and who picks it up:
//   - event committed, relay never ran     -> unrelayed row: relayOutbox (on wake-up and on the sweep)
//   - deliveries committed, job never added -> pending delivery past its time: requeueOverdueDeliveries

export interface DeliveryJob {
  deliveryId: string;
  /** The attempt number this job makes (attemptCount + 1 when it was handed over). */
  attempt: number;
  delayMs: number;
}

/** Hands jobs to the queue; the worker layer implements it (BullMQ stays out of the domain). */
export type Enqueue = (jobs: DeliveryJob[]) => Promise<void>;

/** Tells live subscribers about committed events (events/live.ts publishLive); failures are the caller's to log. */
export type PublishRelayed = (events: RelayedEvent[]) => Promise<void>;

/**
 * Hands attempts over again, one job each, so that each results in a new attempt: a job for the
 * attempt still waiting is left alone, one that ended (failed for good) is replaced. Returns how
 * many jobs were actually added.
 */
export type HandOver = (jobs: DeliveryJob[]) => Promise<number>;

async function fanOutBatch(db: Database, batchSize: number): Promise<{ events: number; claimed: RelayedEvent[]; jobs: DeliveryJob[] }> {
  return db.prisma.$transaction(async (tx) => {
    const now = clock.now();
    // Claim and mark in one statement; the row locks hold until this transaction commits.
    const events = await tx.$queryRaw<{ id: string; accountId: string; type: string; data: unknown }[]>`
      WITH claimed AS (
        SELECT "id" FROM "OutboxEvent" WHERE "relayedAt" IS NULL ORDER BY "createdAt" LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
      )
      UPDATE "OutboxEvent" o SET "relayedAt" = (${now.toISOString()}::timestamptz AT TIME ZONE 'UTC')
        FROM claimed c WHERE o."id" = c."id"
      RETURNING o."id"::text AS "id", o."accountId"::text AS "accountId", o."type", o."data"`;
    if (events.length === 0) return { events: 0, claimed: [], jobs: [] };
    const claimed = events.map((e) => ({ accountId: e.accountId, type: e.type, data: e.data }));
    const accountIds = [...new Set(events.map((e) => e.accountId))];
    const endpoints = await tx.webhookEndpoint.findMany({ where: { accountId: { in: accountIds }, enabled: true }, select: { id: true, accountId: true, eventTypes: true } });
    const deliveries = events.flatMap((e) =>
      endpoints.filter((ep) => ep.accountId === e.accountId && matchesEventType(ep.eventTypes, e.type)).map((ep) => ({ id: crypto.randomUUID(), accountId: e.accountId, eventId: e.id, endpointId: ep.id })),
    );
    if (deliveries.length === 0) return { events: events.length, claimed, jobs: [] };
    // One INSERT for the whole batch (a thousand deliveries cost Prisma's createMany far more
    // than the database); only the rows actually inserted become jobs.
    const col = (f: (d: (typeof deliveries)[number]) => string) => deliveries.map(f);
    const at = now.toISOString();
    const inserted = await tx.$queryRaw<{ id: string }[]>`
      INSERT INTO "WebhookDelivery" ("id", "accountId", "eventId", "endpointId", "nextAttemptAt", "enqueuedAt", "createdAt")
      SELECT i."id", i."accountId", i."eventId", i."endpointId", t.at, t.at, t.at
        FROM unnest(${col((d) => d.id)}::uuid[], ${col((d) => d.accountId)}::uuid[], ${col((d) => d.eventId)}::uuid[], ${col((d) => d.endpointId)}::uuid[])
             AS i("id", "accountId", "eventId", "endpointId"),
             (SELECT (${at}::timestamptz AT TIME ZONE 'UTC') AS at) t
      ON CONFLICT ("eventId", "endpointId") DO NOTHING
      RETURNING "id"::text AS "id"`;
    return { events: events.length, claimed, jobs: inserted.map((d) => ({ deliveryId: d.id, attempt: 1, delayMs: 0 })) };
  });
}

/** Deliveries written directly (test sends, redeliveries) wait with enqueuedAt unset. */
async function claimUnqueuedBatch(db: Database, batchSize: number): Promise<DeliveryJob[]> {
  return db.prisma.$transaction(async (tx) => {
    const rows = await tx.webhookDelivery.findMany({
      where: { status: 'PENDING', enqueuedAt: null },
      orderBy: { createdAt: 'asc' },
      take: batchSize,
      select: { id: true },
    });
    if (rows.length === 0) return [];
    const now = clock.now();
    // Only the rows this statement changed are ours: a concurrent relay's claim makes them drop out.
    const claimed = await tx.webhookDelivery.updateManyAndReturn({
      where: { id: { in: rows.map((r) => r.id) }, status: 'PENDING', enqueuedAt: null },
      data: { enqueuedAt: now },
      select: { id: true, attemptCount: true, nextAttemptAt: true },
    });
    return claimed.map((d) => ({ deliveryId: d.id, attempt: d.attemptCount + 1, delayMs: Math.max(0, (d.nextAttemptAt?.getTime() ?? 0) - now.getTime()) }));
  });
}

/**
 * Moves everything committed so far on: fans out unrelayed events, then hands unqueued deliveries
 * to the queue. Returns counts for logs and tests.
 */
export async function relayOutbox(db: Database, enqueue: Enqueue, batchSize = 200, publish?: PublishRelayed): Promise<{ events: number; jobs: number }> {
  let events = 0;
  let jobs = 0;
  for (;;) {
    const batch = await fanOutBatch(db, batchSize);
    events += batch.events;
    // Live updates are a courtesy on top of the stored events: one lost to a crash here is not resent.
    if (publish && batch.claimed.length > 0) await publish(batch.claimed);
    // Marked relayed before the hand-over: if it fails or the process dies here, the overdue sweep
    // requeues these deliveries; nothing is sent twice because jobs are keyed by attempt.
    if (batch.jobs.length > 0) await enqueue(batch.jobs);
    jobs += batch.jobs.length;
    if (batch.events < batchSize) break;
  }
  for (;;) {
    const batch = await claimUnqueuedBatch(db, batchSize);
    if (batch.length > 0) {
      try {
        await enqueue(batch);
      } catch (err) {
        await db.prisma.webhookDelivery.updateMany({ where: { id: { in: batch.map((j) => j.deliveryId) }, status: 'PENDING' }, data: { enqueuedAt: null } }).catch(() => {});
        throw err;
      }
    }
    jobs += batch.length;
    if (batch.length < batchSize) break;
  }
  return { events, jobs };
}

/**
 * Pending deliveries whose next attempt is overdue by `graceMs` have lost their job (a crash
 * between commit and hand-over, a job dropped after repeated worker deaths, or one that used up
 * its tries while the database was away): hand them over again. A job still waiting for the same
 * attempt makes this a no-op. Returns the jobs actually added.
 */
export async function requeueOverdueDeliveries(db: Database, handOver: HandOver, opts: { graceMs: number; batchSize?: number; limit?: number }): Promise<number> {
  const batchSize = opts.batchSize ?? 500;
  const limit = opts.limit ?? 10_000;
  const before = new Date(clock.nowMs() - opts.graceMs);
  let cursor: { id: string } | undefined;
  let total = 0;
  let added = 0;
  while (total < limit) {
    const rows = await db.prisma.webhookDelivery.findMany({
      where: { status: 'PENDING', nextAttemptAt: { lt: before } },
      orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
      take: batchSize,
      ...(cursor ? { cursor, skip: 1 } : {}),
      select: { id: true, attemptCount: true },
    });
    if (rows.length === 0) break;
    added += await handOver(rows.map((r) => ({ deliveryId: r.id, attempt: r.attemptCount + 1, delayMs: 0 })));
    total += rows.length;
    if (rows.length < batchSize) break;
    cursor = { id: rows[rows.length - 1].id };
  }
  return added;
}
