import type { KeyType, Permission } from '../../src/generated/prisma/enums';
import { EXPIRATION_DAYS, HIGH_PRIVILEGE_MAX_ROTATION_DAYS, KEY_PRESETS, addDays, isHighPrivilege, rotationDueAt } from '../../src/keys/presets';

const DAY = 86_400_000;
const FROM = new Date('2030-03-01T08:30:00.000Z');
const daysFrom = (d: number) => new Date(FROM.getTime() + d * DAY);

describe('KEY_PRESETS follow the presets in the README (Keys)', () => {
  test.each<[KeyType, Permission, number, number, number | null, boolean, string]>([
    ['DEVELOPMENT', 'READ_ONLY', 30, 60, 30, false, 'dev'],
    ['PRODUCTION', 'EXECUTE', 365, 6000, 90, false, 'prod'],
    ['INTEGRATION', 'READ_ONLY', 90, 600, 90, false, 'int'],
    ['EMERGENCY', 'FULL_ACCESS', 7, 12000, null, true, 'emg'],
  ])('%s: %s, expires in %i days, %i/min, rotation %p, ipAllowlist required %p, env %s', (type, permission, expires, perMinute, rotation, ipRequired, env) => {
    expect(KEY_PRESETS[type]).toEqual({
      permission,
      expiresInDays: expires,
      rateLimits: [{ window: 'MINUTE', limit: perMinute }],
      rotationPeriodDays: rotation,
      requiresIpAllowlist: ipRequired,
      env,
    });
  });

  test('expiration choices are 30 days, 90 days, 1 year and never', () => {
    expect(EXPIRATION_DAYS).toEqual({ DAYS_30: 30, DAYS_90: 90, YEAR_1: 365, NEVER: null });
  });
});

describe('isHighPrivilege', () => {
  test.each<[Permission, boolean]>([
    ['READ_ONLY', false],
    ['EXECUTE', false],
    ['MANAGE', true],
    ['FULL_ACCESS', true],
  ])('%s -> %p', (p, expected) => {
    expect(isHighPrivilege(p)).toBe(expected);
  });
});

describe('rotationDueAt', () => {
  test.each<[string, KeyType, Permission, number | null | undefined, Date | null]>([
    ['a DEVELOPMENT key is due after its 30-day period', 'DEVELOPMENT', 'READ_ONLY', undefined, daysFrom(30)],
    ['a PRODUCTION key is due after its 90-day period', 'PRODUCTION', 'EXECUTE', undefined, daysFrom(90)],
    ['an INTEGRATION key is due after its 90-day period', 'INTEGRATION', 'READ_ONLY', undefined, daysFrom(90)],
    ['a PRODUCTION key with a null override uses the preset', 'PRODUCTION', 'EXECUTE', null, daysFrom(90)],

    ['a MANAGE PRODUCTION key is capped at 30 days', 'PRODUCTION', 'MANAGE', undefined, daysFrom(30)],
    ['a FULL_ACCESS PRODUCTION key is capped at 30 days', 'PRODUCTION', 'FULL_ACCESS', undefined, daysFrom(30)],
    ['a MANAGE INTEGRATION key is capped at 30 days', 'INTEGRATION', 'MANAGE', undefined, daysFrom(30)],
    ['a FULL_ACCESS DEVELOPMENT key keeps its 30 days', 'DEVELOPMENT', 'FULL_ACCESS', undefined, daysFrom(30)],
    ['a MANAGE key overriding to 365 days is still capped at 30', 'PRODUCTION', 'MANAGE', 365, daysFrom(30)],
    ['a FULL_ACCESS key overriding to 31 days is still capped at 30', 'INTEGRATION', 'FULL_ACCESS', 31, daysFrom(30)],
    ['a MANAGE key overriding to 10 days keeps its shorter period', 'PRODUCTION', 'MANAGE', 10, daysFrom(10)],

    ['an EXECUTE key overriding to 180 days is due after 180', 'PRODUCTION', 'EXECUTE', 180, daysFrom(180)],
    ['a READ_ONLY key overriding to 7 days is due after 7', 'DEVELOPMENT', 'READ_ONLY', 7, daysFrom(7)],
    ['a READ_ONLY key overriding to 1 day is due after 1', 'INTEGRATION', 'READ_ONLY', 1, daysFrom(1)],

    ['an EMERGENCY key has no due date (due after each use)', 'EMERGENCY', 'FULL_ACCESS', undefined, null],
    ['an EMERGENCY key with a null override has no due date', 'EMERGENCY', 'FULL_ACCESS', null, null],
    ['an EMERGENCY key narrowed to READ_ONLY has no due date', 'EMERGENCY', 'READ_ONLY', undefined, null],
  ])('%s', (_label, type, permission, rotationPeriodDays, expected) => {
    expect(rotationDueAt({ type, permission, rotationPeriodDays, from: FROM })).toEqual(expected);
  });

  test('the high-privilege cap is 30 days', () => {
    expect(HIGH_PRIVILEGE_MAX_ROTATION_DAYS).toBe(30);
  });

  test('the due date counts from the given start, not from the wall clock', () => {
    const from = new Date('2001-01-01T00:00:00.000Z');
    expect(rotationDueAt({ type: 'PRODUCTION', permission: 'EXECUTE', from })).toEqual(new Date('2001-04-01T00:00:00.000Z'));
  });
});

describe('addDays', () => {
  test.each([
    [0, FROM],
    [1, daysFrom(1)],
    [365, daysFrom(365)],
    [-2, daysFrom(-2)],
  ])('adds %i days of 24 hours', (days, expected) => {
    expect(addDays(FROM, days)).toEqual(expected);
  });
});
