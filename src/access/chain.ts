import type { BandwidthSetting, KeyLimits, Period, QuotaSetting, RateLimitSetting } from './key-settings';
import { RATE_WINDOWS } from './key-settings';

// "The narrowest value along the chain", written once: a derived key never gets more than any
// ancestor, so verification counts the smallest limit and the earliest expiry of the whole chain,
// and a derived key's defaults never reach past its ancestors'. Absent values (null) set no limit.

/** Days a period spans at most: amounts over different periods compare per day. */
export const PERIOD_DAYS: Record<Period, number> = { DAY: 1, MONTH: 31 };

/** The smallest value present by `measure` (the first of equals); null when none is. */
function smallest<T>(values: readonly (T | null | undefined)[], measure: (v: T) => number): T | null {
  let best: T | null = null;
  let bestMeasure = Infinity;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const m = measure(v);
    if (best === null || m < bestMeasure) {
      best = v;
      bestMeasure = m;
    }
  }
  return best;
}

/** The earliest of several expiries; null (never) when none is set. */
export function earliest(dates: readonly (Date | null | undefined)[]): Date | null {
  return smallest(dates, (d) => d.getTime());
}

const quotaPerDay = (q: QuotaSetting) => q.units / PERIOD_DAYS[q.period];
const bandwidthPerDay = (b: BandwidthSetting) => b.bytes / PERIOD_DAYS[b.period];

/** The narrowest rate limits of several lists: per window, the lowest limit. */
export function narrowestRateLimits(...lists: readonly (readonly RateLimitSetting[])[]): RateLimitSetting[] {
  const byWindow = new Map<string, number>();
  for (const list of lists) for (const r of list) byWindow.set(r.window, Math.min(r.limit, byWindow.get(r.window) ?? Infinity));
  return RATE_WINDOWS.filter((w) => byWindow.has(w)).map((w) => ({ window: w, limit: byWindow.get(w)! }));
}

/** The limits that apply to a key: the narrowest of each along its chain. */
export function narrowestLimits(chain: readonly KeyLimits[]): KeyLimits {
  return {
    rateLimits: narrowestRateLimits(...chain.map((k) => k.rateLimits)),
    quota: smallest(
      chain.map((k) => k.quota),
      quotaPerDay,
    ),
    bandwidth: smallest(
      chain.map((k) => k.bandwidth),
      bandwidthPerDay,
    ),
    maxConcurrent: smallest(
      chain.map((k) => k.maxConcurrent),
      (n) => n,
    ),
  };
}
