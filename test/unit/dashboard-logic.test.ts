import { keyHealth } from '../../dashboard/src/health';
import { fillBuckets, usageRange } from '../../dashboard/src/usage';
import { href, parseRoute } from '../../dashboard/src/router';
import { complianceScore, last30Days } from '../../dashboard/src/overview';
import { parseSseBlocks } from '../../dashboard/src/live';

// The dashboard's pure pieces: key health flags, usage buckets and hash routes.

const NOW = Date.parse('2026-06-15T12:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const base = { status: 'ACTIVE' as const, createdAt: iso(NOW - 10 * DAY), expiresAt: null, lastUsedAt: iso(NOW - DAY), rotationDueAt: null };

test.each([
  ['a fresh, used key is healthy', base, []],
  ['expiring within 14 days', { ...base, expiresAt: iso(NOW + 13 * DAY) }, ['expiring-soon']],
  ['expiring in 15 days is not soon', { ...base, expiresAt: iso(NOW + 15 * DAY) }, []],
  ['rotation due date passed', { ...base, rotationDueAt: iso(NOW - 1000) }, ['rotation-due']],
  ['never used and 90 days old', { ...base, createdAt: iso(NOW - 90 * DAY), lastUsedAt: null }, ['unused']],
  ['never used but new', { ...base, lastUsedAt: null }, []],
  ['last used 91 days ago', { ...base, createdAt: iso(NOW - 200 * DAY), lastUsedAt: iso(NOW - 91 * DAY) }, ['unused']],
  ['rotating, in grace', { ...base, status: 'ROTATING' as const }, ['rotating']],
  ['revoked says only revoked', { ...base, status: 'REVOKED' as const, expiresAt: iso(NOW + DAY) }, ['revoked']],
  ['expired says only expired', { ...base, status: 'EXPIRED' as const }, ['expired']],
])('health: %s', (_name, input, flags) => {
  expect(keyHealth(input, NOW)).toEqual(flags);
});

test('usage buckets: every hour in range, data where the server had some', () => {
  const { from, to } = usageRange('HOUR', NOW + 30 * 60_000);
  expect(to).toBe('2026-06-15T13:00:00.000Z');
  expect(from).toBe('2026-06-13T13:00:00.000Z');
  const filled = fillBuckets([{ start: '2026-06-15T12:00:00.000Z', requests: 5, allowed: 4, denied: 1, units: 4, bytes: 10 }], from, to, 'HOUR');
  expect(filled).toHaveLength(48);
  expect(filled[47]).toMatchObject({ start: '2026-06-15T12:00:00.000Z', allowed: 4, denied: 1 });
  expect(filled.slice(0, 47).every((p) => p.requests === 0)).toBe(true);
});

test('usage buckets: 30 days ending with today', () => {
  const { from, to } = usageRange('DAY', NOW);
  const filled = fillBuckets([], from, to, 'DAY');
  expect(filled).toHaveLength(30);
  expect(filled[29].start).toBe('2026-06-15T00:00:00.000Z');
});

test.each([
  ['', { page: 'overview' }],
  ['#/overview', { page: 'overview' }],
  ['#/keys', { page: 'keys' }],
  ['#/keys/expiring/14', { page: 'keys', expiringDays: 14 }],
  ['#/keys/new', { page: 'new-key' }],
  ['#/keys/new/abc', { page: 'new-key', parentId: 'abc' }],
  ['#/keys/5f0e', { page: 'key', id: '5f0e' }],
  ['#/security', { page: 'security' }],
  ['#/agents', { page: 'agents' }],
  ['#/denials/IP_NOT_ALLOWED', { page: 'denials', code: 'IP_NOT_ALLOWED' }],
  ['#/webhooks', { page: 'webhooks' }],
  ['#/compliance', { page: 'compliance' }],
  ['#/unknown', { page: 'overview' }],
  ['#/denials', { page: 'overview' }],
])('route %s', (hash, route) => {
  expect(parseRoute(hash)).toEqual(route);
  if (hash.startsWith('#/') && hash !== '#/unknown' && hash !== '#/denials') expect(href(parseRoute(hash))).toBe(hash);
});

test.each([
  [{ active: 0, never: 0, overdue: 0, noIp: 0, unused: 0 }, 100],
  [{ active: 4, never: 0, overdue: 0, noIp: 0, unused: 0 }, 100],
  [{ active: 4, never: 4, overdue: 4, noIp: 4, unused: 4 }, 0],
  [{ active: 4, never: 2, overdue: 0, noIp: 0, unused: 0 }, 88],
  [{ active: 2, never: 9, overdue: 0, noIp: 0, unused: 0 }, 75],
])('compliance score of %j is %d', (c, score) => {
  const counts = {
    activeKeys: { count: c.active },
    neverExpiringKeys: { count: c.never },
    rotationOverdueKeys: { count: c.overdue },
    productionKeysWithoutIpRestriction: { count: c.noIp },
    unusedKeys: { count: c.unused },
  };
  expect(complianceScore(counts)).toBe(score);
});

test('SSE blocks are split into events, an unfinished block kept for the next read', () => {
  const { events, rest } = parseSseBlocks('event: next\ndata: {"data":1}\n\n:\n\nevent: complete\ndata:\n\nevent: next\ndata: {"da');
  expect(events).toEqual([
    { event: 'next', data: '{"data":1}' },
    { event: 'complete', data: '' },
  ]);
  expect(rest).toBe('event: next\ndata: {"da');
});

test('the overview and the lists behind its numbers cover the same range: from the start of the UTC day 30 days back to the end of the current hour', () => {
  expect(last30Days(Date.parse('2026-06-15T12:34:00Z'))).toEqual({ from: '2026-05-16T00:00:00.000Z', to: '2026-06-15T13:00:00.000Z' });
});
