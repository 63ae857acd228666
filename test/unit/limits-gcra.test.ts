import { emissionIntervalUs, rateView } from '../../src/limits/gcra';
import { tightestPerWindow, tightestRateLimit } from '../../src/limits/limiter';

const NOW = 1_900_000_000_000;

describe('emission interval', () => {
  test.each([
    ['MINUTE', 60, 1_000_000],
    ['MINUTE', 6000, 10_000],
    ['HOUR', 7, 514_285_714], // floored: the burst stays exactly N, see gcra.ts
    ['DAY', 86_400_000, 1_000], // one per millisecond
    ['MINUTE', 120_000_000, 1], // beyond 1 per µs the interval stays 1
    ['MINUTE', 0, 60_000_000], // denies everything; any positive interval does
  ] as const)('%s / %d -> %d µs', (window, limit, interval) => {
    expect(emissionIntervalUs(window, limit)).toBe(interval);
  });
});

describe('what a client sees of a window', () => {
  const t = 12_000_000; // 5 per minute
  test('an idle window is full and "resets" now', () => {
    expect(rateView(0, NOW, 'MINUTE', 5)).toEqual({ remaining: 5, reset: NOW });
  });
  test('with requests left, reset is when the window is full again', () => {
    expect(rateView(NOW * 1000 + 2 * t, NOW, 'MINUTE', 5)).toEqual({ remaining: 3, reset: NOW + 24_000 });
  });
  test('a partly refilled interval does not count as a request', () => {
    expect(rateView(NOW * 1000 + 2.5 * t, NOW, 'MINUTE', 5).remaining).toBe(2);
  });
  test('with none left, reset is when the next request is allowed', () => {
    expect(rateView(NOW * 1000 + 5 * t, NOW, 'MINUTE', 5)).toEqual({ remaining: 0, reset: NOW + 12_000 });
  });
  test('reset rounds up to the next whole millisecond', () => {
    const interval = emissionIntervalUs('HOUR', 7);
    expect(rateView(NOW * 1000 + 7 * interval, NOW, 'HOUR', 7).reset).toBe(NOW + Math.ceil(interval / 1000));
  });
});

test('duplicate windows keep the tighter limit, shortest window first', () => {
  expect(
    tightestPerWindow([
      { window: 'DAY', limit: 1000 },
      { window: 'MINUTE', limit: 60 },
      { window: 'MINUTE', limit: 10 },
      { window: 'MINUTE', limit: 30 },
    ]),
  ).toEqual([
    { window: 'MINUTE', limit: 10 },
    { window: 'DAY', limit: 1000 },
  ]);
});

test('the tightest window has the fewest left, then the longest wait, whoever owns it', () => {
  const minute = { owner: 'KEY' as const, window: 'MINUTE' as const, limit: 5, remaining: 0, reset: NOW + 1_000 };
  const hour = { owner: 'IDENTITY' as const, window: 'HOUR' as const, limit: 8, remaining: 0, reset: NOW + 90_000 };
  const day = { owner: 'KEY' as const, window: 'DAY' as const, limit: 100, remaining: 40, reset: NOW };
  expect(tightestRateLimit([day, minute, hour])).toBe(hour);
  expect(tightestRateLimit([day])).toBe(day);
  expect(tightestRateLimit([])).toBeNull();
});
