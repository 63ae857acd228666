import { nextRefillAt, refillPeriodOf, type CreditRefill } from '../../src/keys/credits';

const daily: CreditRefill = { amount: 5, interval: 'DAILY', day: null };
const on = (day: number): CreditRefill => ({ amount: 5, interval: 'MONTHLY', day });
const at = (iso: string) => new Date(iso);

test.each([
  [daily, '2026-11-29T10:00:00.000Z', '2026-11-30T00:00:00.000Z', '2026-11-29'],
  [daily, '2026-11-29T00:00:00.000Z', '2026-11-30T00:00:00.000Z', '2026-11-29'],
  [daily, '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z', '2026-12-31'],
  [on(1), '2026-11-29T10:00:00.000Z', '2026-12-01T00:00:00.000Z', '2026-11-01'],
  [on(3), '2026-11-02T23:00:00.000Z', '2026-11-03T00:00:00.000Z', '2026-10-03'],
  [on(3), '2026-11-03T00:00:00.000Z', '2026-12-03T00:00:00.000Z', '2026-11-03'],
  [on(28), '2026-12-30T00:00:00.000Z', '2027-01-28T00:00:00.000Z', '2026-12-28'],
  [on(15), '2027-01-10T00:00:00.000Z', '2027-01-15T00:00:00.000Z', '2026-12-15'],
])('%o at %s: next refill %s, in the period opened %s', (refill, now, next, period) => {
  expect(nextRefillAt(refill, at(now)).toISOString()).toBe(next);
  expect(refillPeriodOf(refill, at(now))).toBe(period);
});
