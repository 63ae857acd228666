// Calendar periods for quota and bandwidth. They are UTC so every instance, whatever its local
// time zone, agrees on when "today" and "this month" end.

export type Period = 'DAY' | 'MONTH';

export interface PeriodBounds {
  /** Readable id of the period ("2024-11-24" / "2024-11"); part of the counter's Redis key. */
  id: string;
  startMs: number;
  endMs: number;
}

const DAY_MS = 86_400_000;

// Every verification of a key with a quota asks for the current period; it changes once a day
// or month, so the last answer per period type is kept and reused while it still covers now.
const latest: Partial<Record<Period, PeriodBounds>> = {};

/** The UTC day or month containing nowMs. The object returned is shared: do not modify it. */
export function periodBounds(period: Period, nowMs: number): PeriodBounds {
  const last = latest[period];
  if (last && nowMs >= last.startMs && nowMs < last.endMs) return last;
  const bounds = Object.freeze(computeBounds(period, nowMs));
  latest[period] = bounds;
  return bounds;
}

function computeBounds(period: Period, nowMs: number): PeriodBounds {
  const now = new Date(nowMs);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (period === 'DAY') {
    const startMs = Date.UTC(y, m, now.getUTCDate());
    return { id: new Date(startMs).toISOString().slice(0, 10), startMs, endMs: startMs + DAY_MS };
  }
  const startMs = Date.UTC(y, m, 1);
  // Date.UTC rolls month 12 over into January of the next year.
  return { id: new Date(startMs).toISOString().slice(0, 7), startMs, endMs: Date.UTC(y, m + 1, 1) };
}
