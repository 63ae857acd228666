import { JITTER, MAX_RETRY_AFTER_MS, classifyStatus, nextRetryDelay, parseRetryAfter } from '../../src/webhooks/retry';

// When a failed delivery is tried again (README, Configuration: WEBHOOK_RETRY_SCHEDULE with jitter, Retry-After honoured).

const SCHEDULE = [5, 300, 1800];

test('each retry waits its place in the schedule, spread by at most the jitter either way', () => {
  expect(nextRetryDelay(0, SCHEDULE, null, () => 0)).toBe(5000 * (1 - JITTER));
  expect(nextRetryDelay(0, SCHEDULE, null, () => 0.5)).toBe(5000);
  expect(nextRetryDelay(1, SCHEDULE, null, () => 0.999999)).toBeCloseTo(300_000 * (1 + JITTER), -1);
  const seen = new Set(Array.from({ length: 50 }, () => nextRetryDelay(2, SCHEDULE, null)));
  expect(seen.size).toBeGreaterThan(10);
  for (const d of seen) {
    expect(d).toBeGreaterThanOrEqual(1800_000 * (1 - JITTER));
    expect(d).toBeLessThanOrEqual(1800_000 * (1 + JITTER));
  }
});

test('when the schedule is used up there is no next attempt', () => {
  expect(nextRetryDelay(3, SCHEDULE, null)).toBeNull();
  expect(nextRetryDelay(0, [], 10_000)).toBeNull();
});

test('Retry-After longer than the schedule wins; shorter is ignored; absurd values are capped at a day', () => {
  expect(nextRetryDelay(0, SCHEDULE, 60_000, () => 0.5)).toBe(60_000);
  expect(nextRetryDelay(1, SCHEDULE, 60_000, () => 0.5)).toBe(300_000);
  expect(nextRetryDelay(0, SCHEDULE, 10 * MAX_RETRY_AFTER_MS, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  expect(parseRetryAfter('120', now)).toBe(120_000);
  expect(parseRetryAfter(' 0 ', now)).toBe(0);
  expect(parseRetryAfter('Tue, 24 Nov 2026 12:01:30 GMT', now)).toBe(90_000);
  expect(parseRetryAfter('Tue, 24 Nov 2026 11:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter(['30', '60'], now)).toBe(30_000);
  expect(parseRetryAfter('soon', now)).toBeNull();
  expect(parseRetryAfter('-5', now)).toBeNull();
  expect(parseRetryAfter(undefined, now)).toBeNull();
});

test.each([
  [200, 'succeeded'],
  [204, 'succeeded'],
  [299, 'succeeded'],
  [410, 'gone'],
  [301, 'failed'],
  [302, 'failed'],
  [400, 'failed'],
  [429, 'failed'],
  [500, 'failed'],
  [null, 'failed'],
])('HTTP %s counts as %s', (status, outcome) => {
  expect(classifyStatus(status)).toBe(outcome);
});
