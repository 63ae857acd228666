import { clock } from '../../src/infra/clock';
import { startHarness, type GqlResult, type Harness } from '../helpers/harness';
import { REVOKE_KEY, VIEWER, breakChecksum, createKey, expectError, forgeSecret, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: every request carries "Authorization: Bearer <secret>"; anything that does not name a
// usable key is UNAUTHENTICATED. README, Keys: a wrong checksum is rejected without a database read.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('authn');
});
afterAll(() => h.close());
afterEach(() => clock.reset());

function expectUnauthenticated(res: GqlResult): void {
  expectError(res, 'UNAUTHENTICATED');
  expect(res.data?.viewer ?? null).toBeNull();
}

test('a valid master key reads viewer: its own key and account', async () => {
  const res = await h.gql(VIEWER, {}, acct.secret);
  expect(ok(res).viewer).toEqual({
    key: { id: acct.keyId, name: 'master', permission: 'FULL_ACCESS', master: true },
    account: { id: acct.accountId, name: acct.name },
  });
});

test('a request without an Authorization header is UNAUTHENTICATED', async () => {
  expectUnauthenticated(await h.gql(VIEWER, {}, null));
});

test.each([
  ['a non-Bearer scheme', 'Token x'],
  ['Bearer without a key', 'Bearer'],
  ['Bearer with an empty key', 'Bearer '],
  ['Basic credentials', 'Basic dXNlcjpwYXNz'],
  ['two tokens after Bearer', 'Bearer a b'],
])('a malformed Authorization header (%s) is UNAUTHENTICATED', async (_label, header) => {
  expectUnauthenticated(await h.gql(VIEWER, {}, null, { authorization: header }));
});

test('the real secret under a non-Bearer scheme is UNAUTHENTICATED', async () => {
  expectUnauthenticated(await h.gql(VIEWER, {}, null, { authorization: `Token ${acct.secret}` }));
});

test('a well-formed key that was never issued is UNAUTHENTICATED', async () => {
  for (const env of ['root', 'prod', 'dev'] as const) {
    const misses = h.app.cache.misses;
    expectUnauthenticated(await h.gql(VIEWER, {}, forgeSecret(env)));
    // It passed the checksum and was looked up (so this is the unknown-key path, not the checksum path).
    expect(h.app.cache.misses).toBe(misses + 1);
  }
});

test('a key that is not a Keywarden secret at all is UNAUTHENTICATED', async () => {
  expectUnauthenticated(await h.gql(VIEWER, {}, 'not-a-key'));
  expectUnauthenticated(await h.gql(VIEWER, {}, 'x'.repeat(5000)));
});

test('a real key with a wrong checksum is UNAUTHENTICATED and never looked up', async () => {
  const bad = breakChecksum(acct.secret);
  expect(bad).not.toBe(acct.secret);
  const before = { hits: h.app.cache.hits, misses: h.app.cache.misses };
  expectUnauthenticated(await h.gql(VIEWER, {}, bad));
  // Neither the cache nor the database was consulted for it.
  expect({ hits: h.app.cache.hits, misses: h.app.cache.misses }).toEqual(before);
  // The intact key still works.
  expect(ok(await h.gql(VIEWER, {}, acct.secret)).viewer.key.id).toBe(acct.keyId);
});

test('a revoked key is UNAUTHENTICATED at once, though it worked a moment before', async () => {
  const { secret, key } = await createKey(h, acct.secret, { name: 'to-revoke', type: 'DEVELOPMENT' });
  expect(ok(await h.gql(VIEWER, {}, secret)).viewer.key.id).toBe(key.id); // now cached
  ok(await h.gql(REVOKE_KEY, { id: key.id, reason: 'test' }, acct.secret));
  expectUnauthenticated(await h.gql(VIEWER, {}, secret));
});

test('an expired key is UNAUTHENTICATED once its expiresAt has passed', async () => {
  const expiresAt = new Date(clock.nowMs() + 5_000).toISOString();
  const { secret, key } = await createKey(h, acct.secret, { name: 'short-lived', type: 'DEVELOPMENT', expiresAt });
  expect(ok(await h.gql(VIEWER, {}, secret)).viewer.key.id).toBe(key.id);
  clock.advance(6_000);
  expectUnauthenticated(await h.gql(VIEWER, {}, secret));
  // The master key, which does not expire, is unaffected by the moved clock.
  expect(ok(await h.gql(VIEWER, {}, acct.secret)).viewer.key.id).toBe(acct.keyId);
});

test('an unauthenticated request cannot reach any other operation either', async () => {
  const forged = forgeSecret('root');
  for (const query of ['{ keys { edges { node { id } } } }', '{ agents { edges { node { id } } } }', '{ auditEvents { edges { node { id } } } }']) {
    const res = await h.gql(query, {}, forged);
    expectError(res, 'UNAUTHENTICATED');
    expect(res.data ?? null).toBeNull();
  }
  const res = await h.gql(`mutation { createKey(input: { name: "x", type: DEVELOPMENT }) { secret } }`, {}, null);
  expectError(res, 'UNAUTHENTICATED');
  expect(await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId, name: 'x' } })).toBe(0);
});

test('introspection needs a key like any other query', async () => {
  const query = '{ __schema { queryType { name } mutationType { name } } }';
  expectError(await h.gql(query, {}, null), 'UNAUTHENTICATED');
  const res = await h.gql(query, {}, acct.secret);
  expect(res.errors).toBeUndefined();
  expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' }, mutationType: { name: 'Mutation' } } });
});
