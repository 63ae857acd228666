import { clock } from '../../src/infra/clock';
import { startHarness, type Harness } from '../helpers/harness';
import { REVOKE_KEY, createKey, ok } from '../helpers/gql-fixtures';

// `keys(first, after, filter)`: a relay connection, newest first; filters status, type, search
// (name, case-insensitive, or the start of the key), expiringBefore.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
/** Keys created by this file, oldest first (the master key comes before all of them). */
const created: { secret: string; key: any }[] = [];

const PAGE = `query($first: Int, $after: String, $filter: KeyFilter) {
  keys(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id name start type status expiresAt createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function listIds(filter: Record<string, unknown>): Promise<string[]> {
  return ok(await h.gql(PAGE, { first: 100, filter }, acct.secret)).keys.edges.map((e: any) => e.node.id);
}

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('list');
  const specs = [
    { name: 'Alpha Billing Bot', type: 'DEVELOPMENT' },
    { name: 'beta crawler', type: 'PRODUCTION' },
    { name: 'gamma sync', type: 'INTEGRATION' },
    { name: 'delta BILLING export', type: 'PRODUCTION', expiresIn: 'DAYS_30' },
    { name: 'epsilon', type: 'EMERGENCY', ipAllowlist: ['203.0.113.9'] },
    { name: 'zeta never', type: 'PRODUCTION', expiresIn: 'NEVER' },
    { name: 'eta short', type: 'DEVELOPMENT', expiresAt: new Date(clock.nowMs() + 60 * 60_000).toISOString() },
  ];
  for (const input of specs) {
    created.push(await createKey(h, acct.secret, input as never));
    // Distinct creation times, so "newest first" has one right answer.
    await new Promise((r) => setTimeout(r, 5));
  }
  ok(await h.gql(REVOKE_KEY, { id: created[1].key.id, reason: 'list test' }, acct.secret)); // beta crawler
});
afterAll(() => h.close());
afterEach(() => clock.reset());

const byName = (name: string) => created.find((c) => c.key.name === name)!.key.id as string;

test('keys(first: 2) with after cursors returns every key exactly once, newest first', async () => {
  const seen: string[] = [];
  const pageSizes: number[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 20; guard++) {
    const conn: any = ok(await h.gql(PAGE, { first: 2, after }, acct.secret)).keys;
    pageSizes.push(conn.edges.length);
    seen.push(...conn.edges.map((e: any) => e.node.id));
    expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
    if (!conn.pageInfo.hasNextPage) break;
    after = conn.pageInfo.endCursor;
  }
  const expected = [...created.map((c) => c.key.id)].reverse().concat(acct.keyId);
  expect(seen).toEqual(expected);
  expect(new Set(seen).size).toBe(seen.length);
  // 8 keys in pages of 2: 2, 2, 2, 2 (hasNextPage turns false on the last full page).
  expect(pageSizes).toEqual([2, 2, 2, 2]);
});

test('createdAt never increases down the list', async () => {
  const edges = ok(await h.gql(PAGE, { first: 100 }, acct.secret)).keys.edges;
  const times = edges.map((e: any) => new Date(e.node.createdAt).getTime());
  expect([...times].sort((a, b) => b - a)).toEqual(times);
});

test('a cursor from one page continues exactly after that key', async () => {
  const all = ok(await h.gql(PAGE, { first: 100 }, acct.secret)).keys.edges;
  const third = all[2];
  const rest = ok(await h.gql(PAGE, { first: 100, after: third.cursor }, acct.secret)).keys.edges.map((e: any) => e.node.id);
  expect(rest).toEqual(all.slice(3).map((e: any) => e.node.id));
});

test('filter status ACTIVE lists the live keys and not the revoked one', async () => {
  const ids = await listIds({ status: 'ACTIVE' });
  expect(ids).not.toContain(byName('beta crawler'));
  expect(ids.sort()).toEqual([acct.keyId, ...created.filter((c) => c.key.name !== 'beta crawler').map((c) => c.key.id)].sort());
});

test('filter status REVOKED lists only the revoked key', async () => {
  expect(await listIds({ status: 'REVOKED' })).toEqual([byName('beta crawler')]);
});

test('filter status EXPIRED lists a key once its expiresAt has passed, and ACTIVE no longer does', async () => {
  expect(await listIds({ status: 'EXPIRED' })).toEqual([]);
  clock.advance(2 * 60 * 60_000); // past "eta short" (1 hour), before every other expiry
  expect(await listIds({ status: 'EXPIRED' })).toEqual([byName('eta short')]);
  expect(await listIds({ status: 'ACTIVE' })).not.toContain(byName('eta short'));
  const node = ok(await h.gql(PAGE, { first: 100, filter: { status: 'EXPIRED' } }, acct.secret)).keys.edges[0].node;
  expect(node.status).toBe('EXPIRED');
});

test('filter type lists exactly the keys of that type', async () => {
  expect((await listIds({ type: 'PRODUCTION' })).sort()).toEqual([acct.keyId, byName('beta crawler'), byName('delta BILLING export'), byName('zeta never')].sort());
  expect(await listIds({ type: 'EMERGENCY' })).toEqual([byName('epsilon')]);
  expect(await listIds({ type: 'INTEGRATION' })).toEqual([byName('gamma sync')]);
});

test('filter type and status combine', async () => {
  expect((await listIds({ type: 'PRODUCTION', status: 'ACTIVE' })).sort()).toEqual([acct.keyId, byName('delta BILLING export'), byName('zeta never')].sort());
});

test('search matches a part of the name regardless of case, newest first', async () => {
  expect(await listIds({ search: 'billing' })).toEqual([byName('delta BILLING export'), byName('Alpha Billing Bot')]);
  expect(await listIds({ search: 'CRAWLER' })).toEqual([byName('beta crawler')]);
  expect(await listIds({ search: 'no such key' })).toEqual([]);
});

test('search by the start of a key finds that key', async () => {
  const target = created.find((c) => c.key.name === 'gamma sync')!;
  expect(await listIds({ search: target.key.start })).toEqual([target.key.id]);
  expect(await listIds({ search: acct.secret.slice(0, 'ak_root_'.length + 4) })).toEqual([acct.keyId]);
});

test('search by a whole secret does not find the key (a secret is not a search term)', async () => {
  // The start is its prefix, but nothing stores the rest: a match would mean the secret is stored.
  const target = created.find((c) => c.key.name === 'gamma sync')!;
  expect(await listIds({ search: target.secret })).toEqual([]);
});

test('expiringBefore lists the keys that expire by then and never the ones without expiry', async () => {
  const in45days = new Date(clock.nowMs() + 45 * 86_400_000).toISOString();
  // DEVELOPMENT (30 days), delta (DAYS_30), epsilon (EMERGENCY 7 days), eta (1 hour).
  expect((await listIds({ expiringBefore: in45days })).sort()).toEqual([byName('Alpha Billing Bot'), byName('delta BILLING export'), byName('epsilon'), byName('eta short')].sort());
  const in2hours = new Date(clock.nowMs() + 2 * 60 * 60_000).toISOString();
  expect(await listIds({ expiringBefore: in2hours })).toEqual([byName('eta short')]);
  const far = new Date(clock.nowMs() + 3650 * 86_400_000).toISOString();
  const all = await listIds({ expiringBefore: far });
  expect(all).not.toContain(byName('zeta never'));
  expect(all).not.toContain(acct.keyId);
});

test('filters and pagination combine: search pages of one still return each match once', async () => {
  const seen: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 10; guard++) {
    const conn: any = ok(await h.gql(PAGE, { first: 1, after, filter: { search: 'billing' } }, acct.secret)).keys;
    seen.push(...conn.edges.map((e: any) => e.node.id));
    if (!conn.pageInfo.hasNextPage) break;
    after = conn.pageInfo.endCursor;
  }
  expect(seen).toEqual([byName('delta BILLING export'), byName('Alpha Billing Bot')]);
});
