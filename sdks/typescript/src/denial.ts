import type { DenialCode, ErrorEnvelope, QuotaState, RateLimitState, VerifyCode, VerifyResult } from './types.js';

// How a denial is answered, exactly as Keywarden's gateway answers it (src/verify/gateway.ts:
// statusForCode, MESSAGES, rateLimitHeaders): status by code, {"error":{"code","message"}},
// WWW-Authenticate on 401, Retry-After on 429, RateLimit-* from the tightest window.

/** HTTP status of a code: 401 for who-are-you, 429 for slow-down, 403 for the rest of the refusals. */
export function statusForCode(code: VerifyCode | DenialCode): number {
  switch (code) {
    case 'VALID':
      return 200;
    case 'UNAUTHENTICATED':
    case 'NOT_FOUND':
    case 'EXPIRED':
    case 'REVOKED':
      return 401;
    case 'RATE_LIMITED':
    case 'QUOTA_EXCEEDED':
    case 'CREDITS_EXHAUSTED':
    case 'BANDWIDTH_EXCEEDED':
    case 'CONCURRENCY_EXCEEDED':
    case 'TOO_MANY_FAILED_ATTEMPTS':
      return 429;
    case 'KEYWARDEN_UNAVAILABLE':
      return 503;
    default:
      return 403;
  }
}

/** The gateway's messages, word for word. */
export const DENIAL_MESSAGES: Readonly<Record<DenialCode, string>> = {
  UNAUTHENTICATED: 'send the API key as "Authorization: Bearer <key>"',
  NOT_FOUND: 'unknown API key',
  EXPIRED: 'the API key has expired',
  REVOKED: 'the API key was revoked',
  INSUFFICIENT_PERMISSIONS: 'the API key lacks the permission this method needs',
  OUT_OF_SCOPE: 'the API key does not reach this agent or workflow',
  IP_NOT_ALLOWED: 'requests from this address are not allowed for this key',
  OUTSIDE_ACCESS_WINDOW: 'the API key may not be used at this time',
  COUNTRY_NOT_ALLOWED: 'requests from this country are not allowed for this key',
  CONDITION_FAILED: "the request does not meet the key's condition",
  RATE_LIMITED: 'rate limit exceeded',
  QUOTA_EXCEEDED: 'quota exceeded',
  CREDITS_EXHAUSTED: 'credits exhausted',
  BANDWIDTH_EXCEEDED: 'bandwidth exceeded',
  CONCURRENCY_EXCEEDED: 'too many simultaneous requests for this key',
  TOO_MANY_FAILED_ATTEMPTS: 'too many unknown keys from this address',
  FORWARD_AUTH_UNSUPPORTED: 'this key sets limits that forward auth cannot enforce',
  KEYWARDEN_UNAVAILABLE: 'Keywarden could not be reached to verify the API key',
};

/** The window a client should pace itself by: fewest requests left; on a tie, the later reset. */
export function tightestRateLimit(states: readonly RateLimitState[]): RateLimitState | null {
  let best: RateLimitState | null = null;
  for (const s of states) {
    if (!best || s.remaining < best.remaining || (s.remaining === best.remaining && s.reset > best.reset)) best = s;
  }
  return best;
}

/** `RateLimit-Limit`, `-Remaining`, `-Reset` (seconds from now) of the tightest window; none without windows. */
export function rateLimitHeaders(result: Pick<VerifyResult, 'ratelimits'>, nowMs = Date.now()): Record<string, string> {
  const tightest = tightestRateLimit(result.ratelimits);
  if (!tightest) return {};
  return {
    'ratelimit-limit': String(tightest.limit),
    'ratelimit-remaining': String(tightest.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((tightest.reset - nowMs) / 1000))),
  };
}

/**
 * Seconds until a request denied by a limit may pass, from what the verify answer reports:
 * the latest reset among exhausted windows (RATE_LIMITED), the quota period's end
 * (QUOTA_EXCEEDED); at least 1. Bandwidth and credits report no reset: 1.
 */
export function retryAfterFor(code: VerifyCode, ratelimits: readonly RateLimitState[], quota: QuotaState | null, nowMs = Date.now()): number | null {
  if (statusForCode(code) !== 429) return null;
  let untilMs = 0;
  if (code === 'RATE_LIMITED') {
    for (const w of ratelimits) if (w.remaining === 0) untilMs = Math.max(untilMs, w.reset - nowMs);
  } else if (code === 'QUOTA_EXCEEDED' && quota) untilMs = quota.reset - nowMs;
  return Math.max(1, Math.ceil(untilMs / 1000));
}

/** A complete HTTP answer: what every framework adapter writes. */
export interface Denial {
  status: number;
  code: DenialCode;
  headers: Record<string, string>;
  /** `{"error":{"code","message"}}` as an object and as the exact text sent. */
  envelope: ErrorEnvelope;
  body: string;
}

export function denial(code: DenialCode, headers: Record<string, string> = {}): Denial {
  const status = statusForCode(code);
  const envelope: ErrorEnvelope = { error: { code, message: DENIAL_MESSAGES[code] ?? code } };
  const all: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...headers };
  if (status === 401) all['www-authenticate'] = 'Bearer';
  return { status, code, headers: all, envelope, body: JSON.stringify(envelope) };
}

/** The answer to a denied verification, or null when the result lets the request through. */
export function denialFor(result: VerifyResult, nowMs = Date.now()): Denial | null {
  if (result.valid) return null;
  const code = result.code as DenialCode;
  if (code === 'TOO_MANY_FAILED_ATTEMPTS') return denial(code, { 'retry-after': String(result.retryAfter ?? 1) });
  const headers = rateLimitHeaders(result, nowMs);
  if (statusForCode(code) === 429) headers['retry-after'] = String(result.retryAfter ?? 1);
  return denial(code, headers);
}
