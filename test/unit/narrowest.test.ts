import { earliest, narrowestLimits, narrowestRateLimits } from '../../src/access/chain';
import type { KeyLimits } from '../../src/access/key-settings';

// The narrowest value along a key chain: what verification counts and what a derived key
// inherits. Absent values set no limit.

const none: KeyLimits = { rateLimits: [], quota: null, bandwidth: null, maxConcurrent: null };

describe('earliest', () => {
  test('the earliest date present; null when none is set', () => {
    const a = new Date('2030-01-01T00:00:00Z');
    const b = new Date('2029-06-01T00:00:00Z');
    expect(earliest([null, a, undefined, b])).toBe(b);
    expect(earliest([null, undefined])).toBeNull();
    expect(earliest([])).toBeNull();
  });
});

describe('narrowestRateLimits', () => {
  test('per window the lowest limit, ordered MINUTE, HOUR, DAY; a window set anywhere applies', () => {
    expect(
      narrowestRateLimits(
        [
          { window: 'DAY', limit: 1000 },
          { window: 'MINUTE', limit: 60 },
        ],
        [
          { window: 'MINUTE', limit: 100 },
          { window: 'HOUR', limit: 500 },
        ],
        [],
      ),
    ).toEqual([
      { window: 'MINUTE', limit: 60 },
      { window: 'HOUR', limit: 500 },
      { window: 'DAY', limit: 1000 },
    ]);
  });

  test('no lists, or only empty ones: no rate limits', () => {
    expect(narrowestRateLimits()).toEqual([]);
    expect(narrowestRateLimits([], [])).toEqual([]);
  });
});

describe('narrowestLimits', () => {
  test('an unrestricted chain has no limits', () => {
    expect(narrowestLimits([none, none])).toEqual(none);
  });

  test('quota and bandwidth compare per day (a month counts as 31 days): 20 a day is narrower than 1000 a month, 100 a day wider', () => {
    const limits = narrowestLimits([
      { ...none, quota: { units: 1000, period: 'MONTH' }, bandwidth: { bytes: 100, period: 'DAY' } },
      { ...none, quota: { units: 20, period: 'DAY' }, bandwidth: { bytes: 1000, period: 'MONTH' } },
    ]);
    expect(limits.quota).toEqual({ units: 20, period: 'DAY' });
    expect(limits.bandwidth).toEqual({ bytes: 1000, period: 'MONTH' });
  });

  test('the smallest maxConcurrent wins, wherever in the chain it is set', () => {
    expect(narrowestLimits([{ ...none, maxConcurrent: 5 }, none, { ...none, maxConcurrent: 2 }]).maxConcurrent).toBe(2);
    expect(narrowestLimits([none, { ...none, maxConcurrent: 7 }]).maxConcurrent).toBe(7);
  });

  test('on a 20-deep chain a limit set only at the root still applies to the leaf', () => {
    const chain = Array.from({ length: 20 }, (_, i): KeyLimits => (i === 19 ? { ...none, rateLimits: [{ window: 'HOUR', limit: 3 }], quota: { units: 9, period: 'DAY' } } : none));
    expect(narrowestLimits(chain)).toEqual({ rateLimits: [{ window: 'HOUR', limit: 3 }], quota: { units: 9, period: 'DAY' }, bandwidth: null, maxConcurrent: null });
  });
});
