import { flushUsage } from '../../src/reports/usage-flush';
import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok } from '../helpers/gql-fixtures';

// Account.usage, topKeys and deniedByCode: sums over the hourly rollups, for the keys the caller
// administers (a master key its account, a MANAGE key its subtree), never another account's.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const OVERVIEW = `query($from: DateTime!, $to: DateTime!) { viewer { account {
  usage(from: $from, to: $to) { start requests allowed denied units }
  daily: usage(from: $from, to: $to, granularity: DAY) { requests }
  topKeys(from: $from, to: $to, first: 5) { key { id name } requests denied }
  deniedByCode(from: $from, to: $to) { code count }
} } }`;

const range = () => ({ from: new Date(Date.now() - 2 * 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() });

async function traffic(secret: string, allowed: number, denied: number, deniedAs: Record<string, unknown> = { permission: 'FULL_ACCESS' }) {
  for (let i = 0; i < allowed; i++) await h.verify({ key: secret });
  for (let i = 0; i < denied; i++) await h.verify({ key: secret, ...deniedAs });
}

async function flush() {
  await h.app.usage.flush();
  await flushUsage(h.db, h.redis, h.prefix);
}

/** Account A: a busy key, a MANAGE key with one derived key, a READ_ONLY key; account B: one key. */
async function twoAccounts() {
  const a = await h.newAccount('overview-a');
  const b = await h.newAccount('overview-b');
  const busy = await createKey(h, a.secret, { name: 'busy', type: 'PRODUCTION', permission: 'EXECUTE' });
  const manager = await createKey(h, a.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  const derived = ok(
    await h.gql(`mutation($p: ID!) { deriveKey(parentId: $p, input: { name: "derived", type: PRODUCTION, permission: READ_ONLY }) { secret key { id } } }`, { p: manager.key.id }, manager.secret),
  ).deriveKey;
  const reader = await createKey(h, a.secret, { name: 'reader', type: 'PRODUCTION', permission: 'READ_ONLY' });
  const other = await createKey(h, b.secret, { name: 'other', type: 'PRODUCTION', permission: 'EXECUTE' });
  await traffic(busy.secret, 6, 2);
  await traffic(derived.secret, 2, 1, { permission: 'EXECUTE' });
  await traffic(other.secret, 9, 4);
  await flush();
  return { a, b, busy, manager, derived, reader, other };
}

test('a master key sees its whole account summed from the rollups, and nothing of another account', async () => {
  const { a, b, busy, derived } = await twoAccounts();
  const acct = ok(await h.gql(OVERVIEW, range(), a.secret)).viewer.account;
  const total = acct.usage.reduce((s: number, p: any) => s + p.requests, 0);
  expect(total).toBe(11);
  expect(acct.usage.reduce((s: number, p: any) => s + p.denied, 0)).toBe(3);
  expect(acct.daily.reduce((s: number, p: any) => s + p.requests, 0)).toBe(11);
  expect(acct.topKeys.map((k: any) => [k.key.id, k.requests])).toEqual([
    [busy.key.id, 8],
    [derived.key.id, 3],
  ]);
  expect(acct.deniedByCode).toEqual([{ code: 'INSUFFICIENT_PERMISSIONS', count: 3 }]);

  const other = ok(await h.gql(OVERVIEW, range(), b.secret)).viewer.account;
  expect(other.usage.reduce((s: number, p: any) => s + p.requests, 0)).toBe(13);
  expect(other.topKeys).toHaveLength(1);
  expect(other.deniedByCode).toEqual([{ code: 'INSUFFICIENT_PERMISSIONS', count: 4 }]);
});

test('a MANAGE key sees the totals of its subtree only', async () => {
  const { manager, derived } = await twoAccounts();
  const acct = ok(await h.gql(OVERVIEW, range(), manager.secret)).viewer.account;
  expect(acct.usage.reduce((s: number, p: any) => s + p.requests, 0)).toBe(3);
  expect(acct.topKeys.map((k: any) => k.key.id)).toEqual([derived.key.id]);
  expect(acct.deniedByCode).toEqual([{ code: 'INSUFFICIENT_PERMISSIONS', count: 1 }]);
});

test('a key that administers nothing may not read the overview', async () => {
  const { reader } = await twoAccounts();
  const r = await h.gql(`query($from: DateTime!, $to: DateTime!) { viewer { account { usage(from: $from, to: $to) { requests } } } }`, range(), reader.secret);
  expectError(r, 'FORBIDDEN');
});

test('a range backwards or an hourly range over 366 days is refused with the argument named', async () => {
  const a = await h.newAccount('overview-range');
  const q = `query($from: DateTime!, $to: DateTime!, $g: UsageGranularity) { viewer { account { usage(from: $from, to: $to, granularity: $g) { requests } } } }`;
  expectError(await h.gql(q, { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, a.secret), 'BAD_USER_INPUT', 'from');
  expectError(await h.gql(q, { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', g: 'HOUR' }, a.secret), 'BAD_USER_INPUT', 'to');
  const ok2 = await h.gql(q, { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', g: 'DAY' }, a.secret);
  expect(ok2.errors).toBeUndefined();
});

test('topKeys(deniedCode:) lists the keys denied with that code, most such denials first, within the caller scope', async () => {
  const { a, b, busy, manager, derived } = await twoAccounts();
  const fenced = await createKey(h, a.secret, { name: 'fenced', type: 'PRODUCTION', permission: 'EXECUTE', ipAllowlist: ['203.0.113.7'] });
  await traffic(fenced.secret, 0, 3, { ip: '198.51.100.1' });
  await traffic(busy.secret, 0, 1, { ip: '198.51.100.1', permission: 'EXECUTE' }); // allowed: busy has no allowlist
  await flush();
  const DENIED = `query($from: DateTime!, $to: DateTime!, $code: String) { viewer { account { topKeys(from: $from, to: $to, first: 10, deniedCode: $code) { key { id } requests denied } } } }`;
  const rows = async (secret: string, code: string) => ok(await h.gql(DENIED, { ...range(), code }, secret)).viewer.account.topKeys.map((k: any) => [k.key.id, k.requests, k.denied]);
  expect(await rows(a.secret, 'IP_NOT_ALLOWED')).toEqual([[fenced.key.id, 3, 3]]);
  expect(await rows(a.secret, 'INSUFFICIENT_PERMISSIONS')).toEqual([
    [busy.key.id, 9, 2],
    [derived.key.id, 3, 1],
  ]);
  expect(await rows(manager.secret, 'INSUFFICIENT_PERMISSIONS')).toEqual([[derived.key.id, 3, 1]]);
  expect(await rows(b.secret, 'IP_NOT_ALLOWED')).toEqual([]);
  expect(await rows(a.secret, 'NO_SUCH_CODE')).toEqual([]);
});
