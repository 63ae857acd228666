import type { KeyStatus } from '../../src/generated/prisma/enums';
import { type AdministratorState, effectiveStatus, isExpired, isLastingAdministrator, isRevoked, isUsable, type KeyState } from '../../src/access/usable';

// "Is this key usable" as one table: the stored status and the two deadlines, at one moment.

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const PAST = NOW - 1;
const FUTURE = NOW + 60_000;

const key = (status: KeyStatus, expiresAt: number | null = null, graceEndsAt: number | null = null): KeyState => ({ status, expiresAt, graceEndsAt });

describe('the usable rule', () => {
  test.each<[string, KeyState, { expired: boolean; revoked: boolean; usable: boolean; status: KeyStatus }]>([
    ['ACTIVE, no expiry', key('ACTIVE'), { expired: false, revoked: false, usable: true, status: 'ACTIVE' }],
    ['ACTIVE, expiring later', key('ACTIVE', FUTURE), { expired: false, revoked: false, usable: true, status: 'ACTIVE' }],
    ['ACTIVE, expiring exactly now', key('ACTIVE', NOW), { expired: true, revoked: false, usable: false, status: 'EXPIRED' }],
    ['ACTIVE, past expiry (not swept yet)', key('ACTIVE', PAST), { expired: true, revoked: false, usable: false, status: 'EXPIRED' }],
    ['ROTATING within grace', key('ROTATING', null, FUTURE), { expired: false, revoked: false, usable: true, status: 'ROTATING' }],
    ['ROTATING, grace ended', key('ROTATING', null, NOW), { expired: false, revoked: true, usable: false, status: 'REVOKED' }],
    ['ROTATING, grace ended and past expiry', key('ROTATING', PAST, PAST), { expired: true, revoked: true, usable: false, status: 'REVOKED' }],
    ['ROTATING within grace but past expiry', key('ROTATING', PAST, FUTURE), { expired: true, revoked: false, usable: false, status: 'EXPIRED' }],
    ['REVOKED', key('REVOKED'), { expired: false, revoked: true, usable: false, status: 'REVOKED' }],
    ['REVOKED and past expiry', key('REVOKED', PAST), { expired: true, revoked: true, usable: false, status: 'REVOKED' }],
    ['EXPIRED (swept)', key('EXPIRED', PAST), { expired: true, revoked: false, usable: false, status: 'EXPIRED' }],
  ])('%s', (_label, k, expected) => {
    expect({ expired: isExpired(k, NOW), revoked: isRevoked(k, NOW), usable: isUsable(k, NOW), status: effectiveStatus(k, NOW) }).toEqual(expected);
  });

  test('stored Dates and epoch milliseconds give the same answers', () => {
    const asDates: KeyState = { status: 'ROTATING', expiresAt: new Date(FUTURE), graceEndsAt: new Date(PAST) };
    const asMs: KeyState = { status: 'ROTATING', expiresAt: FUTURE, graceEndsAt: PAST };
    for (const f of [isExpired, isRevoked, isUsable, effectiveStatus]) expect(f(asDates, NOW)).toEqual(f(asMs, NOW));
  });
});

describe('isLastingAdministrator: a master key nothing can lock out', () => {
  const master: AdministratorState = { status: 'ACTIVE', expiresAt: null, graceEndsAt: null, master: true, ipAllowlist: [], accessWindows: [], allowedCountries: [], condition: null };
  test.each<[string, Partial<AdministratorState>, boolean]>([
    ['an unrestricted ACTIVE master key', {}, true],
    ['a blank condition', { condition: '  ' }, true],
    ['not a master key', { master: false }, false],
    ['an expiry, even a far one', { expiresAt: FUTURE }, false],
    ['past expiry', { expiresAt: PAST }, false],
    ['ROTATING within grace (its successor takes over)', { status: 'ROTATING', graceEndsAt: FUTURE }, false],
    ['REVOKED', { status: 'REVOKED' }, false],
    ['a condition', { condition: 'false' }, false],
    ['an IP allowlist', { ipAllowlist: ['203.0.113.0/24'] }, false],
    ['access windows', { accessWindows: [{ days: ['MON'], start: '09:00', end: '17:00', timeZone: 'UTC' }] }, false],
    ['countries', { allowedCountries: ['FR'] }, false],
  ])('%s: %s', (_label, change, expected) => {
    expect(isLastingAdministrator({ ...master, ...change }, NOW)).toBe(expected);
  });
});
