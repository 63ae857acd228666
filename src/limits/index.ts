// Redis side of verification limits: rate windows (GCRA), quota and bandwidth per calendar
// period, concurrency slots. No HTTP or GraphQL types; verify/ composes these.
export { Limiter, tightestPerWindow, tightestRateLimit } from './limiter';
export type { BandwidthSpec, CounterState, LimitCode, LimitRequest, LimitResult, QuotaSpec, RateLimitSpec, RateLimitState } from './limiter';
export { ConcurrencyLimiter } from './concurrency';
export type { SlotToken } from './concurrency';
export { LimitsTimeoutError } from './failure';
export type { FailureMode, LimitsOptions } from './failure';
export { emissionIntervalUs, rateView, WINDOW_MS } from './gcra';
export type { RateView, RateWindow } from './gcra';
export { periodBounds } from './periods';
export type { Period, PeriodBounds } from './periods';
