import { clock } from '../../src/infra/clock';
import { startHarness, type Harness } from '../helpers/harness';
import { GET_KEY, REVOKE_KEY, UPDATE_KEY, VIEWER, accountCounts, createKey, expectError, ok } from '../helpers/gql-fixtures';

// README, Admin API rules and Verification: revokeKey ends a key at once (verification answers REVOKED), cannot be repeated,
// and never leaves an account without an active master key.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('revoke');
});
afterAll(() => h.close());
afterEach(() => clock.reset());

test('revokeKey sets status REVOKED, revokedAt and revokedReason, and the key reads back that way', async () => {
  const { key } = await createKey(h, acct.secret, { name: 'to-revoke', type: 'PRODUCTION' });
  const from = clock.nowMs();
  const revoked = ok(await h.gql(REVOKE_KEY, { id: key.id, reason: '  leaked in a log  ' }, acct.secret)).revokeKey;
  const to = clock.nowMs();
  expect(revoked).toMatchObject({ id: key.id, status: 'REVOKED', revokedReason: 'leaked in a log' });
  const at = new Date(revoked.revokedAt).getTime();
  expect(at).toBeGreaterThanOrEqual(from - 1000);
  expect(at).toBeLessThanOrEqual(to + 1000);
  // Everything else about the key is as it was.
  expect(revoked).toMatchObject({ name: key.name, start: key.start, permission: key.permission, expiresAt: key.expiresAt });
  expect(ok(await h.gql(GET_KEY, { id: key.id }, acct.secret)).key).toEqual(revoked);
  const listed = ok(await h.gql(`{ keys(filter: { status: REVOKED }) { edges { node { id } } } }`, {}, acct.secret)).keys.edges.map((e: any) => e.node.id);
  expect(listed).toContain(key.id);
});

test('revokeKey without a reason leaves revokedReason empty', async () => {
  const { key } = await createKey(h, acct.secret, { name: 'no-reason', type: 'DEVELOPMENT' });
  const revoked = ok(await h.gql(REVOKE_KEY, { id: key.id }, acct.secret)).revokeKey;
  expect(revoked).toMatchObject({ status: 'REVOKED', revokedReason: null });
  expect(revoked.revokedAt).not.toBeNull();
});

test('a reason over 500 characters is BAD_USER_INPUT and the key stays active', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'long-reason', type: 'DEVELOPMENT' });
  const before = await accountCounts(h, acct.accountId);
  expectError(await h.gql(REVOKE_KEY, { id: key.id, reason: 'r'.repeat(501) }, acct.secret), 'BAD_USER_INPUT', 'reason');
  expect(await accountCounts(h, acct.accountId)).toEqual(before);
  expect((await h.verify({ key: secret })).body).toMatchObject({ valid: true, code: 'VALID' });
});

test('revoking a key twice is CONFLICT and keeps the first revokedAt and reason', async () => {
  const { key } = await createKey(h, acct.secret, { name: 'twice', type: 'DEVELOPMENT' });
  const first = ok(await h.gql(REVOKE_KEY, { id: key.id, reason: 'first' }, acct.secret)).revokeKey;
  const before = await accountCounts(h, acct.accountId);
  clock.advance(5_000);
  expectError(await h.gql(REVOKE_KEY, { id: key.id, reason: 'second' }, acct.secret), 'CONFLICT');
  expect(await accountCounts(h, acct.accountId)).toEqual(before);
  expect(ok(await h.gql(GET_KEY, { id: key.id }, acct.secret)).key).toMatchObject({ status: 'REVOKED', revokedAt: first.revokedAt, revokedReason: 'first' });
});

test('a revoked key cannot be updated (CONFLICT) and stays unchanged', async () => {
  const { key } = await createKey(h, acct.secret, { name: 'frozen', type: 'DEVELOPMENT' });
  const revoked = ok(await h.gql(REVOKE_KEY, { id: key.id }, acct.secret)).revokeKey;
  expectError(await h.gql(UPDATE_KEY, { id: key.id, input: { name: 'thawed' } }, acct.secret), 'CONFLICT');
  expect(ok(await h.gql(GET_KEY, { id: key.id }, acct.secret)).key).toEqual(revoked);
});

test("revoking the account's only master key is CONFLICT and the master keeps working", async () => {
  const before = await accountCounts(h, acct.accountId);
  expectError(await h.gql(REVOKE_KEY, { id: acct.keyId, reason: 'oops' }, acct.secret), 'CONFLICT');
  expect(await accountCounts(h, acct.accountId)).toEqual(before);
  expect(ok(await h.gql(VIEWER, {}, acct.secret)).viewer.key).toMatchObject({ id: acct.keyId, master: true });
  expect((await h.verify({ key: acct.secret })).body).toMatchObject({ valid: true, code: 'VALID' });
  const row = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: acct.keyId } });
  expect(row.status).toBe('ACTIVE');
  expect(row.revokedAt).toBeNull();
});

test('a revoked key stops verifying at once: REVOKED right after the mutation', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'hot', type: 'PRODUCTION' });
  // Warm the verify cache first, so the test proves invalidation rather than a cold read.
  for (let i = 0; i < 3; i++) expect((await h.verify({ key: secret })).body).toMatchObject({ valid: true, code: 'VALID' });
  ok(await h.gql(REVOKE_KEY, { id: key.id, reason: 'stop' }, acct.secret));
  const v = await h.verify({ key: secret });
  expect(v.status).toBe(200);
  expect(v.body).toMatchObject({ valid: false, code: 'REVOKED', keyId: key.id });
  // ...and cannot use the admin API either.
  expectError(await h.gql(VIEWER, {}, secret), 'UNAUTHENTICATED');
});

test('revoking one key leaves its siblings verifying', async () => {
  const a = await createKey(h, acct.secret, { name: 'sibling-a', type: 'DEVELOPMENT' });
  const b = await createKey(h, acct.secret, { name: 'sibling-b', type: 'DEVELOPMENT' });
  ok(await h.gql(REVOKE_KEY, { id: a.key.id }, acct.secret));
  expect((await h.verify({ key: a.secret })).body.code).toBe('REVOKED');
  expect((await h.verify({ key: b.secret })).body).toMatchObject({ valid: true, code: 'VALID' });
});

test('a key revoked through a non-canonical (upper-case) id is revoked all the same', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'upper', type: 'DEVELOPMENT' });
  expect((await h.verify({ key: secret })).body.code).toBe('VALID');
  const revoked = ok(await h.gql(REVOKE_KEY, { id: key.id.toUpperCase() }, acct.secret)).revokeKey;
  expect(revoked).toMatchObject({ id: key.id, status: 'REVOKED' });
  expect((await h.verify({ key: secret })).body.code).toBe('REVOKED');
});

test('revoking a key revokes the keys derived from it, with one key.revoke audit event per key', async () => {
  const parent = await createKey(h, acct.secret, { name: 'parent', type: 'PRODUCTION', permission: 'MANAGE' });
  const derive = `mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { secret key { id } } }`;
  const child = ok(await h.gql(derive, { p: parent.key.id, input: { name: 'child', type: 'DEVELOPMENT', permission: 'READ_ONLY' } }, acct.secret)).deriveKey;
  expect((await h.verify({ key: child.secret })).body.code).toBe('VALID');
  const before = await accountCounts(h, acct.accountId);
  ok(await h.gql(REVOKE_KEY, { id: parent.key.id, reason: 'subtree' }, acct.secret));
  expect((await h.verify({ key: parent.secret })).body.code).toBe('REVOKED');
  expect((await h.verify({ key: child.secret })).body.code).toBe('REVOKED');
  expect(ok(await h.gql(GET_KEY, { id: child.key.id }, acct.secret)).key).toMatchObject({ status: 'REVOKED', revokedReason: 'subtree' });
  const after = await accountCounts(h, acct.accountId);
  expect(after.audit - before.audit).toBe(2);
  const events = await h.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId, sequence: { gt: before.auditSequence } }, orderBy: { sequence: 'asc' } });
  expect(events.map((e) => [e.action, e.targetId]).sort()).toEqual(
    [
      ['key.revoke', child.key.id],
      ['key.revoke', parent.key.id],
    ].sort(),
  );
});
