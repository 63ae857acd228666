import { Prisma } from '../generated/prisma/client';
import { badInput } from '../infra/errors';
import { z } from 'zod';
import type { CreditsSetting } from '../access/key-settings';

// Credits: a lifetime budget of a key (N uses, or N units spent by `cost`), counted exactly across
// instances by the limits script. The database holds the budget as set or last refilled and its
// epoch; each set or refill starts a new epoch, counted under its own Redis key from zero.

export const REFILL_INTERVALS = ['DAILY', 'MONTHLY'] as const;
export type RefillInterval = (typeof REFILL_INTERVALS)[number];
export type CreditRefill = { amount: number; interval: RefillInterval; day: number | null };

export interface CreditsInput {
  remaining: number;
  refill?: { amount?: number | null; interval?: RefillInterval | null; day?: number | null } | null;
}

const refillColumn = z.object({ amount: z.number(), interval: z.enum(REFILL_INTERVALS), day: z.number().nullable() }).nullable();

/** The creditsRefill column, parsed once. */
export function parseRefill(value: unknown): CreditRefill | null {
  const parsed = refillColumn.safeParse(value ?? null);
  if (!parsed.success) throw new Error('stored key column creditsRefill is malformed');
  return parsed.data;
}

function normalizeRefill(refill: NonNullable<CreditsInput['refill']>): CreditRefill {
  const amount = refill.amount;
  if (amount == null) throw badInput('input.credits.refill.amount', 'is required for a refill');
  if (!Number.isInteger(amount) || amount < 1 || amount > 2_000_000_000) throw badInput('input.credits.refill.amount', 'must be a whole number from 1 to 2000000000');
  const interval = refill.interval ?? 'MONTHLY';
  if (!REFILL_INTERVALS.includes(interval)) throw badInput('input.credits.refill.interval', `unknown interval "${String(interval)}"`);
  const day = refill.day ?? null;
  if (day !== null && interval !== 'MONTHLY') throw badInput('input.credits.refill.day', 'is only for MONTHLY refills');
  if (day !== null && (!Number.isInteger(day) || day < 1 || day > 28)) throw badInput('input.credits.refill.day', 'must be a day of the month from 1 to 28');
  return { amount, interval, day: interval === 'MONTHLY' ? (day ?? 1) : null };
}

/**
 * The first refill boundary after `from`: the next UTC midnight (DAILY), or the next `day` of a
 * month at 00:00 UTC (MONTHLY). A refill made exactly at a boundary is that boundary's.
 */
export function nextRefillAt(refill: CreditRefill, from: Date): Date {
  const y = from.getUTCFullYear();
  const m = from.getUTCMonth();
  if (refill.interval === 'DAILY') return new Date(Date.UTC(y, m, from.getUTCDate() + 1));
  const day = refill.day ?? 1;
  const thisMonth = Date.UTC(y, m, day);
  // Date.UTC rolls month 12 over into January of the next year.
  return new Date(thisMonth > from.getTime() ? thisMonth : Date.UTC(y, m + 1, day));
}

/** The refill period `at` falls in, named by the boundary that opened it ("2026-11-29", "2026-11-03"). */
export function refillPeriodOf(refill: CreditRefill, at: Date): string {
  const next = nextRefillAt(refill, at);
  const y = next.getUTCFullYear();
  const m = next.getUTCMonth();
  const opened = refill.interval === 'DAILY' ? Date.UTC(y, m, next.getUTCDate() - 1) : Date.UTC(y, m - 1, refill.day ?? 1);
  return new Date(opened).toISOString().slice(0, 10);
}

/**
 * The columns credits set: a new budget in a new epoch (null clears credits). Undefined leaves
 * them as they are.
 */
export function creditsData(credits: CreditsInput | null | undefined, now: Date, nextEpoch: number) {
  if (credits === undefined) return {};
  if (credits === null) return { creditsRemaining: null, creditsRefill: Prisma.DbNull, creditsRefilledAt: null, creditsRefillDueAt: null };
  const { remaining } = credits;
  if (!Number.isInteger(remaining) || remaining < 0 || remaining > 2_000_000_000) throw badInput('input.credits.remaining', 'must be a whole number from 0 to 2000000000');
  const refill = credits.refill ? normalizeRefill(credits.refill) : null;
  return {
    creditsRemaining: remaining,
    creditsRefill: refill ?? Prisma.DbNull,
    creditsEpoch: nextEpoch,
    creditsRefilledAt: now,
    // Setting a budget counts as this period's refill: the next one is due at the next boundary.
    creditsRefillDueAt: refill ? nextRefillAt(refill, now) : null,
  };
}

/** The credits a key has after `input` (undefined: unchanged), as the hierarchy compares them. */
export function creditsSetting(input: CreditsInput | null | undefined, before: { creditsRemaining: number | null; creditsRefill: unknown } | null): CreditsSetting | null {
  if (input === null) return null;
  if (input === undefined) {
    if (!before || before.creditsRemaining === null) return null;
    const refill = parseRefill(before.creditsRefill);
    return { budget: before.creditsRemaining, refill: refill && { amount: refill.amount, interval: refill.interval } };
  }
  const refill = input.refill ? normalizeRefill(input.refill) : null;
  return { budget: input.remaining, refill: refill && { amount: refill.amount, interval: refill.interval } };
}

/**
 * The credits columns of a rotated key's successor: the budget as set or last refilled, with its
 * schedule and due time. Counted under the successor's own id from zero (not from what was left).
 */
export function successorCreditsData(old: { creditsRemaining: number | null; creditsRefill: unknown; creditsRefilledAt: Date | null; creditsRefillDueAt: Date | null }) {
  if (old.creditsRemaining === null) return {};
  const refill = parseRefill(old.creditsRefill);
  return { creditsRemaining: old.creditsRemaining, creditsRefill: refill ?? Prisma.DbNull, creditsRefilledAt: old.creditsRefilledAt, creditsRefillDueAt: old.creditsRefillDueAt };
}
