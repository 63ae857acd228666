import type { RateWindow } from './gcra';
import type { Period } from './periods';

// What a limits check is asked and answers: the Limiter's (and the LeasedLimiter's) public types.

export type LimitCode = 'VALID' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'CREDITS_EXHAUSTED' | 'BANDWIDTH_EXCEEDED';
export type LimitOwnerKind = 'KEY' | 'IDENTITY';

export interface RateLimitSpec {
  window: RateWindow;
  limit: number;
}
export interface QuotaSpec {
  units: number;
  period: Period;
}
export interface BandwidthSpec {
  bytes: number;
  period: Period;
}

/** The identity's limits, counted for every key of it. */
export interface IdentityLimits {
  id: string;
  rateLimits: RateLimitSpec[];
  quota: QuotaSpec | null;
}
/** A lifetime budget: `budget` as set or last refilled, counted per `epoch` (bumped by each set or refill). */
export interface CreditsSpec {
  budget: number;
  epoch: number;
}

export interface LimitRequest {
  /** The key's account: the hash tag every counter of one check shares (Redis Cluster). */
  accountId: string;
  keyId: string;
  rateLimits: RateLimitSpec[];
  quota?: QuotaSpec | null;
  bandwidth?: BandwidthSpec | null;
  identity?: IdentityLimits | null;
  credits?: CreditsSpec | null;
  /** Quota units this request spends (default 1). 0 probes: it is judged but spends nothing. */
  cost?: number;
  /** Bytes already known at check time (default 0). */
  bytes?: number;
  nowMs: number;
}

export interface RateLimitState {
  /** Whose window: the key's own, or its identity's (shared). */
  owner: LimitOwnerKind;
  window: RateWindow;
  limit: number;
  remaining: number;
  /** Unix ms: with requests left, when the window is full again; with none, when the next one is allowed. */
  reset: number;
}
export interface CounterState {
  limit: number;
  remaining: number;
  /** Unix ms: end of the calendar period (UTC). */
  reset: number;
}

export interface CreditsState {
  remaining: number;
  budget: number;
  /** This call took remaining below 10% of the budget (true for exactly one call per epoch). */
  crossedLow: boolean;
}

export interface LimitResult {
  allowed: boolean;
  code: LimitCode;
  ratelimits: RateLimitState[];
  /** The key's quota. */
  quota: CounterState | null;
  identityQuota: CounterState | null;
  credits: CreditsState | null;
  bandwidth: CounterState | null;
  /** 0 when allowed; otherwise how long until every failing counter would pass again. */
  retryAfterMs: number;
  /** True when Redis could not be asked and the failure mode decided. */
  degraded: boolean;
}
