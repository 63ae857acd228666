import type { RateWindow } from './types';

export interface RateLimitRow {
  window: RateWindow;
  limit: string;
}

/** Rate limit rows as typed; null when one is not a whole number above 0 (the message says which). */
export function parseRateLimits(rows: RateLimitRow[]): { limits: { window: RateWindow; limit: number }[] } | { error: string } {
  const limits = rows.map((r) => ({ window: r.window, limit: Number(r.limit) }));
  const bad = limits.find((r) => !Number.isInteger(r.limit) || r.limit <= 0);
  if (bad) return { error: `Rate limit per ${bad.window.toLowerCase()}: a whole number above 0.` };
  return { limits };
}
