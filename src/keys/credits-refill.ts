import { appendAudit } from '../audit/chain';
import { clock } from '../infra/clock';
import type { Database, Tx } from '../infra/db';
import { nextRefillAt, parseRefill, refillPeriodOf } from './credits';
import { announceKeyChanges } from './events';

// The credits refill (a scheduled scan of the worker). A key with a refill schedule records when
// its next refill is due; the scan reads only live keys past it (through the (status, due)
// index). A refill sets the budget to the refill amount in a new epoch: the limits script then
// counts what is spent under a new Redis key from zero, so what is left is exactly the amount,
// and the once-per-budget key.credits_low (deduplicated by epoch) can go out again. The UPDATE is
// guarded by the due time it read: a period is refilled once however often or in however many
// processes the scan runs, and a scan that missed several periods refills once, for the current one.

export interface RefillOptions {
  now?: Date;
  batchSize?: number;
}

interface DueKey {
  id: string;
  accountId: string;
  creditsRefill: unknown;
  creditsRefillDueAt: Date | null;
  creditsRemaining: number | null;
  creditsEpoch: number;
}

const DUE_SELECT = { id: true, accountId: true, creditsRefill: true, creditsRefillDueAt: true, creditsRemaining: true, creditsEpoch: true } as const;

/** Refills one key if it is still due as read; audited as key.credits_refill by the system. */
async function refillOne(tx: Tx, key: DueKey, now: Date): Promise<boolean> {
  const refill = parseRefill(key.creditsRefill);
  const guard = { id: key.id, creditsRefillDueAt: key.creditsRefillDueAt };
  if (!refill) {
    // Nothing to refill (credits removed in between): stop looking at it.
    await tx.apiKey.updateMany({ where: guard, data: { creditsRefillDueAt: null } });
    return false;
  }
  const data = { creditsRemaining: refill.amount, creditsEpoch: { increment: 1 }, creditsRefilledAt: now, creditsRefillDueAt: nextRefillAt(refill, now) };
  const changed = await tx.apiKey.updateMany({ where: guard, data });
  if (changed.count === 0) return false;
  await appendAudit(tx, {
    accountId: key.accountId,
    actorKeyId: null,
    action: 'key.credits_refill',
    targetType: 'ApiKey',
    targetId: key.id,
    ip: null,
    before: { credits: { budget: key.creditsRemaining, epoch: key.creditsEpoch } },
    after: { credits: { budget: refill.amount, epoch: key.creditsEpoch + 1, period: refillPeriodOf(refill, now) } },
  });
  return true;
}

/** Refills every live key whose refill is due; returns how many were refilled. */
export async function refillDueCredits(db: Database, opts: RefillOptions = {}): Promise<number> {
  const now = opts.now ?? clock.now();
  const batchSize = opts.batchSize ?? 500;
  const where = { status: { in: ['ACTIVE' as const, 'ROTATING' as const] }, creditsRefillDueAt: { lte: now } };
  const refilled: string[] = [];
  // Bounded: a batch another process is refilling right now shows up again until it commits.
  for (let round = 0; round < 1000; round++) {
    const due = await db.prisma.apiKey.findMany({ where, orderBy: [{ creditsRefillDueAt: 'asc' }, { id: 'asc' }], take: batchSize, select: DUE_SELECT });
    if (due.length === 0) break;
    const ids = await db.prisma.$transaction(async (tx) => {
      const done: string[] = [];
      for (const key of due) if (await refillOne(tx, key, now)) done.push(key.id);
      return done;
    });
    refilled.push(...ids);
    if (due.length < batchSize) break;
  }
  // Every instance drops the keys from its verify cache: verifications count the new epoch at once.
  announceKeyChanges(refilled);
  return refilled.length;
}
