// GCRA (generic cell rate algorithm) arithmetic shared by the Lua script's caller and the tests.
//
// One Redis key per window holds the theoretical arrival time (TAT): the moment the window
// would be completely refilled. A limit of N per window W has an emission interval T = W / N;
// a request is allowed when TAT - now <= (N - 1) * T, and moves TAT to max(TAT, now) + T.
// From idle that admits exactly N at once, then one per T. Unlike a fixed bucket it never
// admits N at the end of one window and N more at the start of the next.
//
// Times are microseconds inside Redis so T stays an integer (60 000 000 / N) even for limits
// well above one per millisecond; microsecond epochs (~1.7e15) are exact in a double.

export type RateWindow = 'MINUTE' | 'HOUR' | 'DAY';

export const WINDOW_MS: Record<RateWindow, number> = {
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
};

/**
 * Emission interval in microseconds. Flooring keeps the burst exact because the burst is
 * bounded by (N - 1) * T rather than by W; the steady rate is at most 1 µs per request faster.
 * A limit below 1 denies everything; any positive interval works for that.
 */
export function emissionIntervalUs(window: RateWindow, limit: number): number {
  const windowUs = WINDOW_MS[window] * 1000;
  return limit >= 1 ? Math.max(1, Math.floor(windowUs / limit)) : windowUs;
}

export interface RateView {
  remaining: number;
  /**
   * Unix ms. With requests left: when the window is back to its full N (now, for an idle
   * window). With none left: when the next request will be allowed.
   */
  reset: number;
}

/** What a client sees of one window, given the TAT as it stands after this request. */
export function rateView(tatUs: number, nowMs: number, window: RateWindow, limit: number): RateView {
  const nowUs = nowMs * 1000;
  if (limit < 1) return { remaining: 0, reset: nowMs + WINDOW_MS[window] };
  const t = emissionIntervalUs(window, limit);
  const base = Math.max(tatUs, nowUs);
  const remaining = Math.min(limit, Math.max(0, Math.floor((nowUs + limit * t - base) / t)));
  const resetUs = remaining > 0 ? base : base - (limit - 1) * t;
  return { remaining, reset: Math.max(nowMs, Math.ceil(resetUs / 1000)) };
}
