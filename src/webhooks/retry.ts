// When to try a failed delivery again: WEBHOOK_RETRY_SCHEDULE gives the pause after each failed
// attempt, spread by jitter so many deliveries failing together do not come back together; a
// receiver's Retry-After asks for a longer pause and gets it. Pure: the caller supplies time and
// randomness.

/** A receiver cannot park a delivery for longer than this with Retry-After. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;
export const JITTER = 0.2;

/**
 * Milliseconds until the next attempt after the failed attempt number `retryIndex + 1` of the
 * current series, or null when the schedule is used up.
 */
export function nextRetryDelay(retryIndex: number, scheduleSeconds: readonly number[], retryAfterMs: number | null, random: () => number = Math.random): number | null {
  if (retryIndex >= scheduleSeconds.length) return null;
  const base = scheduleSeconds[retryIndex] * 1000;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  if (retryAfterMs !== null && retryAfterMs > jittered) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return jittered;
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its weekday and month; Date.parse alone would read "-5" as a year.
  if (!/[a-z]{3}/i.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

export type AttemptOutcome = 'succeeded' | 'gone' | 'failed';

/** 2xx succeeds; 410 Gone means the subscriber removed the URL; anything else (3xx included: redirects are not followed) fails. */
export function classifyStatus(status: number | null): AttemptOutcome {
  if (status !== null && status >= 200 && status < 300) return 'succeeded';
  if (status === 410) return 'gone';
  return 'failed';
}
