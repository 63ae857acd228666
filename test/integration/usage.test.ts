import { countryOf } from '../../src/infra/geoip';
import { flushUsage } from '../../src/reports/usage-flush';
import { startHarness, type Harness } from '../helpers/harness';

// Usage tallies (hot path -> Redis -> PostgreSQL rollups), the recent-access log, and the
// detectors that watch verification outcomes.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

async function key(secret: string, input: Record<string, unknown> = {}) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'u', type: 'PRODUCTION', ...input } }, secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}
async function flush() {
  await h.app.usage.flush();
  await flushUsage(h.db, h.redis, h.prefix);
}
const events = (keyId: string, kind: string) => h.db.prisma.securityEvent.count({ where: { keyId, kind: kind as never } });

test('usage numbers equal what was sent, after a flush', async () => {
  const acct = await h.newAccount('usage');
  const k = await key(acct.secret, { permission: 'READ_ONLY' });
  for (let i = 0; i < 7; i++) await h.verify({ key: k.secret, cost: 2, bytes: 10 });
  for (let i = 0; i < 3; i++) await h.verify({ key: k.secret, permission: 'EXECUTE' });
  await flush();
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const r = await h.gql(
    `query($id: ID!, $from: DateTime!, $to: DateTime!) { key(id: $id) { lastUsedAt usage(from: $from, to: $to, granularity: HOUR) { requests allowed denied units bytes } } }`,
    { id: k.id, from, to },
    acct.secret,
  );
  expect(r.errors).toBeUndefined();
  expect(r.data.key.usage).toEqual([{ requests: 10, allowed: 7, denied: 3, units: 14, bytes: 70 }]);
  expect(new Date(r.data.key.lastUsedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  const rollup = await h.db.prisma.usageRollup.findFirstOrThrow({ where: { keyId: k.id } });
  expect(rollup.deniedByCode).toEqual({ INSUFFICIENT_PERMISSIONS: 3 });

  // A second round adds to the same hour.
  await h.verify({ key: k.secret });
  await flush();
  const again = await h.gql(`query($id: ID!, $from: DateTime!, $to: DateTime!) { key(id: $id) { usage(from: $from, to: $to) { requests } } }`, { id: k.id, from, to }, acct.secret);
  expect(again.data.key.usage).toEqual([{ requests: 11 }]);
});

test('the recent-access log answers who used a key from where, newest first', async () => {
  const acct = await h.newAccount('access-log');
  const k = await key(acct.secret);
  await h.verify({ key: k.secret, ip: '8.8.8.8' });
  await h.verify({ key: k.secret, ip: '10.9.8.7', permission: 'FULL_ACCESS' });
  await h.app.usage.flush();
  const r = await h.gql(`query($id: ID!) { key(id: $id) { recentAccess(first: 10) { ip country code } } }`, { id: k.id }, acct.secret);
  expect(r.data.key.recentAccess).toEqual([
    { ip: '10.9.8.7', country: null, code: 'INSUFFICIENT_PERMISSIONS' },
    { ip: '8.8.8.8', country: countryOf('8.8.8.8'), code: 'VALID' },
  ]);
});

test.each([
  ['from after to', { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z', granularity: 'DAY' }, 'from'],
  ['hourly data over a year', { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', granularity: 'HOUR' }, 'to'],
])('usage with %s answers BAD_USER_INPUT', async (_l, args, field) => {
  const acct = await h.newAccount('usage-bad');
  const k = await key(acct.secret);
  const r = await h.gql(
    `query($id: ID!, $from: DateTime!, $to: DateTime!, $g: UsageGranularity) { key(id: $id) { usage(from: $from, to: $to, granularity: $g) { requests } } }`,
    { id: k.id, from: args.from, to: args.to, g: args.granularity },
    acct.secret,
  );
  expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  expect(r.errors?.[0].message).toContain(field);
});

describe('detectors', () => {
  test('a flood of rate-limited requests yields one RATE_LIMIT_VIOLATION, normal traffic none', async () => {
    const acct = await h.newAccount('rlv');
    const limited = await key(acct.secret, { rateLimits: [{ window: 'MINUTE', limit: 1 }] });
    const normal = await key(acct.secret);
    for (let i = 0; i < 40; i++) await h.verify({ key: limited.secret });
    for (let i = 0; i < 40; i++) await h.verify({ key: normal.secret });
    await new Promise((r) => setTimeout(r, 200));
    expect(await events(limited.id, 'RATE_LIMIT_VIOLATION')).toBe(1);
    expect(await events(normal.id, 'RATE_LIMIT_VIOLATION')).toBe(0);
  });

  test('repeated failures of a known key yield one FAILED_AUTH_BURST', async () => {
    const acct = await h.newAccount('burst');
    const k = await key(acct.secret, { ipAllowlist: ['192.0.2.1'] });
    for (let i = 0; i < 30; i++) await h.verify({ key: k.secret, ip: '198.51.100.1' });
    await new Promise((r) => setTimeout(r, 200));
    expect(await events(k.id, 'FAILED_AUTH_BURST')).toBe(1);
    const e = await h.db.prisma.securityEvent.findFirstOrThrow({ where: { keyId: k.id, kind: 'FAILED_AUTH_BURST' } });
    expect(e.ip).toBe('198.51.100.1');
  });

  test('GEO_ANOMALY fires when a key is used from a new country, not for its first or a known one', async () => {
    const acct = await h.newAccount('geo');
    const k = await key(acct.secret);
    const home = '8.8.8.8';
    const abroad = ['81.2.69.142', '193.99.144.80', '1.1.1.1'].find((ip) => countryOf(ip) && countryOf(ip) !== countryOf(home))!;
    expect(abroad).toBeDefined();
    for (let i = 0; i < 3; i++) await h.verify({ key: k.secret, ip: home });
    await flush();
    expect(await events(k.id, 'GEO_ANOMALY')).toBe(0);
    await h.verify({ key: k.secret, ip: abroad });
    await h.verify({ key: k.secret, ip: home });
    await flush();
    const geo = await h.db.prisma.securityEvent.findMany({ where: { keyId: k.id, kind: 'GEO_ANOMALY' } });
    expect(geo).toHaveLength(1);
    expect(geo[0].details).toMatchObject({ country: countryOf(abroad), knownCountries: [countryOf(home)] });
  });

  test("USAGE_ANOMALY fires when an hour far exceeds the key's own baseline, and stays quiet on steady traffic", async () => {
    const acct = await h.newAccount('anomaly');
    const spiky = await key(acct.secret);
    const steady = await key(acct.secret);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    for (const k of [spiky, steady]) {
      await h.db.prisma.apiKey.update({ where: { id: k.id }, data: { createdAt: new Date(Date.now() - 3 * 86_400_000) } });
      await h.db.prisma.usageRollup.createMany({
        data: Array.from({ length: 24 }, (_, i) => ({ keyId: k.id, accountId: acct.accountId, hour: new Date(hour - (i + 1) * 3_600_000), requests: 10, allowed: 10 })),
      });
    }
    for (let i = 0; i < 120; i++) await h.verify({ key: spiky.secret });
    for (let i = 0; i < 12; i++) await h.verify({ key: steady.secret });
    await flush();
    expect(await events(spiky.id, 'USAGE_ANOMALY')).toBe(1);
    expect(await events(steady.id, 'USAGE_ANOMALY')).toBe(0);
    // Flushing more of the same hour does not raise it again.
    for (let i = 0; i < 5; i++) await h.verify({ key: spiky.secret });
    await flush();
    expect(await events(spiky.id, 'USAGE_ANOMALY')).toBe(1);
  });
});
