// Every Redis counter of verification: rate windows (GCRA), quota and bandwidth per calendar
// period, concurrency slots, the brute-force guard and fixed-window counters per client. No HTTP
// or GraphQL types; verify/ composes these.
export { Limiter, tightestRateLimit } from './limiter';
export { LeasedLimiter } from './leased';
export type { LimitRequest, LimitResult } from './limiter';
export { ConcurrencyLimiter } from './concurrency';
export { BruteForceGuard, DEFAULT_BRUTE_FORCE } from './bruteforce';
export type { BruteForceOptions } from './bruteforce';
export { FixedWindowCounter } from './fixed-window';
export { RedisDownError } from './failure';
export type { LimitsOptions } from './failure';
export { periodBounds } from './periods';
