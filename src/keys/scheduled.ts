import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/db';
import { clock } from '../infra/clock';
import { emitOnce } from '../events/outbox';
import { announceKeyChanges } from './events';
import { keyExpired, keyExpiring, keyRotationDue } from './key-events';
import { findStoredKeys, type StoredKey } from './stored';

// The scheduled scans (run by the worker layer every SCAN_INTERVAL_SECONDS). Each reads only
// the keys past a deadline, through the (status, <deadline>) indexes, in batches, and is safe
// to run in several processes at once: events carry a dedupeKey (written once, ever), and a
// status change is an UPDATE guarded by the old status, so only one process makes it.
//
// Status changes made here (EXPIRED, REVOKED at the end of rotation grace) write no audit event:
// they follow from an expiry or a grace period an audited mutation already set, and effectiveStatus
// reports them from that moment on; the sweep only records what is already true.

const DAY_MS = 86_400_000;

export interface ScanOptions {
  now?: Date;
  batchSize?: number;
}

/** Pages through keys matching `where` in (deadline, id) order; `visit` sees each page once. */
async function forEachPage(db: Database, where: Prisma.ApiKeyWhereInput, orderBy: Prisma.ApiKeyOrderByWithRelationInput, batchSize: number, visit: (rows: StoredKey[]) => Promise<void>): Promise<void> {
  let cursor: { id: string } | undefined;
  for (;;) {
    const rows = await findStoredKeys(db.prisma, { where, orderBy: [orderBy, { id: 'asc' }], take: batchSize, ...(cursor ? { cursor, skip: 1 } : {}) });
    if (rows.length > 0) await visit(rows);
    if (rows.length < batchSize) return;
    cursor = { id: rows[rows.length - 1].id };
  }
}

/**
 * key.expiring once per key and threshold. A key belongs to the band of the tightest threshold
 * that covers it, so a key created 3 days before expiry gets the 7-day warning and never the
 * 14-day one it was never 14 days away from.
 */
export async function warnExpiringKeys(db: Database, thresholdDays: readonly number[], opts: ScanOptions = {}): Promise<number> {
  const now = opts.now ?? clock.now();
  const bands = [...new Set(thresholdDays.filter((d) => d > 0))].sort((a, b) => a - b);
  let emitted = 0;
  for (let i = 0; i < bands.length; i++) {
    const lower = new Date(now.getTime() + (i === 0 ? 0 : bands[i - 1]) * DAY_MS);
    const upper = new Date(now.getTime() + bands[i] * DAY_MS);
    await forEachPage(db, { status: 'ACTIVE', expiresAt: { gt: lower, lte: upper } }, { expiresAt: 'asc' }, opts.batchSize ?? 500, async (rows) => {
      emitted += await emitOnce(
        db.prisma,
        rows.flatMap((k) => (k.expiresAt ? [keyExpiring(k, k.expiresAt, bands[i], now)] : [])),
      );
    });
  }
  return emitted;
}

/** key.rotation_due once per key and due date. */
export async function remindRotationDue(db: Database, opts: ScanOptions = {}): Promise<number> {
  const now = opts.now ?? clock.now();
  let emitted = 0;
  await forEachPage(db, { status: 'ACTIVE', rotationDueAt: { lte: now } }, { rotationDueAt: 'asc' }, opts.batchSize ?? 500, async (rows) => {
    emitted += await emitOnce(
      db.prisma,
      rows.flatMap((k) => (k.rotationDueAt ? [keyRotationDue(k, k.rotationDueAt)] : [])),
    );
  });
  return emitted;
}

/**
 * Claims keys matching `where` by changing them with `data` (guarded by `where` again, so a
 * concurrent sweep changes each row once), then lets `after` emit events in the same transaction.
 */
async function transitionInBatches(
  db: Database,
  where: Prisma.ApiKeyWhereInput,
  orderBy: Prisma.ApiKeyOrderByWithRelationInput,
  data: Prisma.ApiKeyUpdateManyMutationInput,
  batchSize: number,
  after: (changed: StoredKey[], tx: Tx) => Promise<void>,
): Promise<string[]> {
  const changedIds: string[] = [];
  // Bounded: a batch another process is changing right now shows up again until it commits.
  for (let round = 0; round < 1000; round++) {
    const candidates = await db.prisma.apiKey.findMany({ where, orderBy: [orderBy, { id: 'asc' }], take: batchSize, select: { id: true } });
    if (candidates.length === 0) break;
    const ids = await db.prisma.$transaction(async (tx) => {
      const changed = await tx.apiKey.updateManyAndReturn({ where: { AND: [where, { id: { in: candidates.map((c) => c.id) } }] }, data, select: { id: true } });
      if (changed.length === 0) return [];
      const rows = await findStoredKeys(tx, { where: { id: { in: changed.map((c) => c.id) } } });
      await after(rows, tx);
      return rows.map((r) => r.id);
    });
    changedIds.push(...ids);
    if (candidates.length < batchSize) break;
  }
  return changedIds;
}

/** Live keys past expiresAt become EXPIRED, with one key.expired each. */
export async function expireKeys(db: Database, opts: ScanOptions = {}): Promise<number> {
  const now = opts.now ?? clock.now();
  // A ROTATING key whose grace already ended is revoked, not expired (effectiveStatus agrees).
  const where: Prisma.ApiKeyWhereInput = {
    status: { in: ['ACTIVE', 'ROTATING'] },
    expiresAt: { lte: now },
    NOT: { status: 'ROTATING', graceEndsAt: { lte: now } },
  };
  const ids = await transitionInBatches(db, where, { expiresAt: 'asc' }, { status: 'EXPIRED' }, opts.batchSize ?? 500, async (rows, tx) => {
    await emitOnce(tx, rows.map(keyExpired));
  });
  announceKeyChanges(ids);
  return ids.length;
}

/**
 * A rotated key whose grace period ended stops for good: REVOKED, as effectiveStatus already
 * reports it. Subscribers heard key.rotated (with graceEndsAt) when it happened; no new event.
 */
export async function endRotationGrace(db: Database, opts: ScanOptions = {}): Promise<number> {
  const now = opts.now ?? clock.now();
  const ids = await transitionInBatches(
    db,
    { status: 'ROTATING', graceEndsAt: { lte: now } },
    { graceEndsAt: 'asc' },
    { status: 'REVOKED', revokedAt: now, revokedReason: 'rotation grace period ended' },
    opts.batchSize ?? 500,
    async () => {},
  );
  // Every instance drops the key from its verify cache at once.
  announceKeyChanges(ids);
  return ids.length;
}
