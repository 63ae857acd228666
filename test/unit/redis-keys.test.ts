import * as keys from '../../src/infra/redis-keys';

// Deployed Redis data lives under these names: a change orphans counters, tallies and queues
// (and a name without its {hash tag} breaks the scripts on Redis Cluster).

test.each<[string, string, string]>([
  ['limits hash of a key', keys.limitsHashKey('kw', { accountId: 'a1', kind: 'key', id: 'k1' }), 'kw:lim:{a1}:key:k1:limits'],
  ['limits hash of an identity', keys.limitsHashKey('kw', { accountId: 'a1', kind: 'identity', id: 'i1' }), 'kw:lim:{a1}:identity:i1:limits'],
  ['quota counter from before the limits hash', keys.periodCounterKey('kw', { accountId: 'a1', kind: 'key', id: 'k1' }, 'quota', 'DAY', '2026-11-29'), 'kw:lim:{a1}:key:k1:quota:DAY:2026-11-29'],
  ['identity quota counter from before the limits hash', keys.periodCounterKey('kw', { accountId: 'a1', kind: 'identity', id: 'i1' }, 'quota', 'MONTH', '2026-11'), 'kw:lim:{a1}:identity:i1:quota:MONTH:2026-11'],
  ['bandwidth counter', keys.periodCounterKey('kw', { accountId: 'a1', kind: 'key', id: 'k1' }, 'bw', 'MONTH', '2026-11'), 'kw:lim:{a1}:key:k1:bw:MONTH:2026-11'],
  ['credits spent', keys.creditsSpentKey('kw', 'a1', 'k1', 3), 'kw:lim:{a1}:key:k1:credits:3'],
  ['concurrency slots', keys.concurrencySlotsKey('kw', 'k1'), 'kw:lim:{k1}:slots'],
  ['failed attempts per IP', keys.failedAttemptsKey('kw', '203.0.113.7'), 'kw:bf:{203.0.113.7}:fails'],
  ['admin requests per key', keys.adminRequestsKey('kw', 'k1'), 'kw:admin:{k1}:requests'],
  ['leaked reports per IP', keys.leakedReportsKey('kw', '2001:db8::7'), 'kw:leaked:{2001:db8::7}'],
  ['security alert claim', keys.securityAlertKey('kw', 'k1', 'FAILED_AUTH_BURST', 29_000_000), 'kw:alert:{k1}:FAILED_AUTH_BURST:29000000'],
  ['usage hour', keys.usageHourKey('kw', 'k1', 1_764_403_200_000), 'kw:usage:{k1}:1764403200000'],
  ['usage dirty set', keys.usageDirtyKey('kw'), 'kw:usage:dirty'],
  ['last used', keys.lastUsedKey('kw'), 'kw:usage:lastused'],
  ['countries seen', keys.usageCountriesKey('kw'), 'kw:usage:countries'],
  ['access log', keys.accessLogKey('kw', 'k1'), 'kw:access:{k1}'],
  ['invalidation channel', keys.keyInvalidationChannel('kw'), 'kw:keys:invalidate'],
  ['BullMQ prefix', keys.bullPrefix('kw'), 'kw:{bull}'],
])('%s: %s', (_what, actual, expected) => {
  expect(actual).toBe(expected);
});
