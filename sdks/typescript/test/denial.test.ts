import { denial, denialFor, rateLimitHeaders, retryAfterFor, statusForCode, tightestRateLimit } from '../src/denial.js';
import type { RateLimitState, VerifiedResult, VerifyCode } from '../src/types.js';

// The gateway's answers, reproduced without a gateway: status per code, envelope, headers.

const NOW = 1_800_000_000_000;

function result(code: VerifyCode, extra: Partial<VerifiedResult> = {}): VerifiedResult {
  return { verified: true, valid: code === 'VALID', code, keyId: 'k', accountId: 'a', permission: 'READ_ONLY', scope: null, expiresAt: null, ratelimits: [], quota: null, retryAfter: null, ...extra };
}

test('statuses: 401 for missing/unknown/expired/revoked, 429 for limits, 403 for the other refusals, 503 when Keywarden is away', () => {
  const table: [string, number][] = [
    ['VALID', 200],
    ['UNAUTHENTICATED', 401],
    ['NOT_FOUND', 401],
    ['EXPIRED', 401],
    ['REVOKED', 401],
    ['INSUFFICIENT_PERMISSIONS', 403],
    ['OUT_OF_SCOPE', 403],
    ['IP_NOT_ALLOWED', 403],
    ['OUTSIDE_ACCESS_WINDOW', 403],
    ['COUNTRY_NOT_ALLOWED', 403],
    ['CONDITION_FAILED', 403],
    ['FORWARD_AUTH_UNSUPPORTED', 403],
    ['RATE_LIMITED', 429],
    ['QUOTA_EXCEEDED', 429],
    ['CREDITS_EXHAUSTED', 429],
    ['BANDWIDTH_EXCEEDED', 429],
    ['CONCURRENCY_EXCEEDED', 429],
    ['TOO_MANY_FAILED_ATTEMPTS', 429],
    ['KEYWARDEN_UNAVAILABLE', 503],
  ];
  expect(table.map(([code]) => [code, statusForCode(code as VerifyCode)])).toEqual(table);
});

test('a 401 carries WWW-Authenticate: Bearer and the envelope with the gateway message', () => {
  const d = denial('UNAUTHENTICATED');
  expect(d.status).toBe(401);
  expect(d.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' });
  expect(JSON.parse(d.body)).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'send the API key as "Authorization: Bearer <key>"' } });
  expect(denialFor(result('REVOKED'))!.envelope).toEqual({ error: { code: 'REVOKED', message: 'the API key was revoked' } });
});

test('a 403 has neither WWW-Authenticate nor Retry-After, but the RateLimit headers when windows were reported', () => {
  const d = denialFor(result('OUT_OF_SCOPE', { ratelimits: [{ window: 'MINUTE', limit: 10, remaining: 9, reset: NOW }] }), NOW)!;
  expect(d.status).toBe(403);
  expect(d.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'ratelimit-limit': '10', 'ratelimit-remaining': '9', 'ratelimit-reset': '0' });
});

test('RATE_LIMITED: Retry-After from the exhausted window, RateLimit-* from the tightest one', () => {
  const ratelimits: RateLimitState[] = [
    { window: 'MINUTE', limit: 5, remaining: 0, reset: NOW + 12_001 },
    { window: 'HOUR', limit: 100, remaining: 40, reset: NOW + 3_000_000 },
  ];
  const retryAfter = retryAfterFor('RATE_LIMITED', ratelimits, null, NOW);
  expect(retryAfter).toBe(13);
  const d = denialFor(result('RATE_LIMITED', { ratelimits, retryAfter }), NOW)!;
  expect([d.status, d.headers['retry-after'], d.headers['ratelimit-limit'], d.headers['ratelimit-remaining'], d.headers['ratelimit-reset']]).toEqual([429, '13', '5', '0', '13']);
});

test('QUOTA_EXCEEDED waits for the period end; codes without a reported reset wait 1 second; other codes have none', () => {
  expect(retryAfterFor('QUOTA_EXCEEDED', [], { limit: 10, remaining: 0, reset: NOW + 90_500 }, NOW)).toBe(91);
  expect(retryAfterFor('CREDITS_EXHAUSTED', [], null, NOW)).toBe(1);
  expect(retryAfterFor('BANDWIDTH_EXCEEDED', [], null, NOW)).toBe(1);
  expect(retryAfterFor('RATE_LIMITED', [{ window: 'MINUTE', limit: 5, remaining: 0, reset: NOW - 5 }], null, NOW)).toBe(1);
  expect(retryAfterFor('OUT_OF_SCOPE', [], null, NOW)).toBeNull();
  expect(retryAfterFor('VALID', [], null, NOW)).toBeNull();
});

test('TOO_MANY_FAILED_ATTEMPTS answers 429 with its Retry-After and the gateway message', () => {
  const d = denialFor(result('TOO_MANY_FAILED_ATTEMPTS', { keyId: null, retryAfter: 240 }))!;
  expect([d.status, d.headers['retry-after'], d.envelope.error.message]).toEqual([429, '240', 'too many unknown keys from this address']);
});

test('a valid result is no denial; its RateLimit headers come from the window with the fewest left, ties to the later reset', () => {
  expect(denialFor(result('VALID'))).toBeNull();
  const windows: RateLimitState[] = [
    { window: 'MINUTE', limit: 5, remaining: 3, reset: NOW + 1000 },
    { window: 'HOUR', limit: 50, remaining: 3, reset: NOW + 60_000 },
    { window: 'DAY', limit: 500, remaining: 400, reset: NOW + 100 },
  ];
  expect(tightestRateLimit(windows)!.window).toBe('HOUR');
  expect(rateLimitHeaders({ ratelimits: windows }, NOW)).toEqual({ 'ratelimit-limit': '50', 'ratelimit-remaining': '3', 'ratelimit-reset': '60' });
  expect(rateLimitHeaders({ ratelimits: [] }, NOW)).toEqual({});
});
