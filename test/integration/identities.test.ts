import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok } from '../helpers/gql-fixtures';

// Identities: the customer or system behind several keys. Their limits are shared by all of
// their keys, across API instances; accounts never see each other's identities.

const IDENTITY_FIELDS = 'id externalId metadata rateLimits { window limit } quota { units period } createdAt keys(first: 10) { edges { node { id } } }';
const CREATE_IDENTITY = `mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { ${IDENTITY_FIELDS} } }`;
const UPDATE_IDENTITY = `mutation($id: ID!, $input: UpdateIdentityInput!) { updateIdentity(id: $id, input: $input) { ${IDENTITY_FIELDS} } }`;
const DELETE_IDENTITY = 'mutation($id: ID!) { deleteIdentity(id: $id) }';
const GET_IDENTITY = `query($id: ID, $externalId: String) { identity(id: $id, externalId: $externalId) { ${IDENTITY_FIELDS} } }`;
const LIST_IDENTITIES = 'query($search: String) { identities(first: 10, search: $search) { edges { node { id externalId } } } }';
const DERIVE = 'mutation($parentId: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $parentId, input: $input) { secret key { id identity { id } } } }';
const UPDATE_KEY = 'mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id identity { id externalId } } }';

let h: Harness;
let h2: Harness;
beforeAll(async () => {
  h = await startHarness();
  // A second API instance on the same database and Redis.
  h2 = await startHarness({ db: h.db });
});
afterAll(async () => {
  await h2.close();
  await h.close();
});

async function newIdentity(secret: string, input: Record<string, unknown>) {
  return ok(await h.gql(CREATE_IDENTITY, { input }, secret)).createIdentity;
}

test('keys of one identity share its rate limit across two instances: N allowed, N+1 denied', async () => {
  const acct = await h.newAccount('ident');
  const identity = await newIdentity(acct.secret, { externalId: 'cust_42', metadata: { plan: 'pro' }, rateLimits: [{ window: 'MINUTE', limit: 4 }] });
  expect(identity).toMatchObject({ externalId: 'cust_42', metadata: { plan: 'pro' }, rateLimits: [{ window: 'MINUTE', limit: 4 }], quota: null });
  const a = await createKey(h, acct.secret, { name: 'a', type: 'PRODUCTION', identityId: identity.id });
  const b = await createKey(h, acct.secret, { name: 'b', type: 'PRODUCTION', identityId: identity.id });
  const results = [];
  for (const [instance, secret] of [
    [h, a.secret],
    [h2, b.secret],
    [h, b.secret],
    [h2, a.secret],
    [h, a.secret],
  ] as const) {
    results.push((await instance.verify({ key: secret })).body);
  }
  expect(results.map((r) => r.code)).toEqual(['VALID', 'VALID', 'VALID', 'VALID', 'RATE_LIMITED']);
  expect(results[0].identity).toEqual({ id: identity.id, externalId: 'cust_42', metadata: { plan: 'pro' } });
  // The key's own window and the identity's, each named by its owner.
  expect(results[3].ratelimits).toEqual(
    expect.arrayContaining([expect.objectContaining({ owner: 'KEY', window: 'MINUTE', limit: 6000 }), expect.objectContaining({ owner: 'IDENTITY', window: 'MINUTE', limit: 4, remaining: 0 })]),
  );
  const listed = ok(await h.gql(GET_IDENTITY, { externalId: 'cust_42' }, acct.secret)).identity;
  expect(listed.keys.edges.map((e: any) => e.node.id).sort()).toEqual([a.key.id, b.key.id].sort());
});

test("an identity's quota is shared too, and a key without an identity is not counted against it", async () => {
  const acct = await h.newAccount('identq');
  const identity = await newIdentity(acct.secret, { externalId: 'q', quota: { units: 3, period: 'DAY' } });
  const a = await createKey(h, acct.secret, { name: 'a', type: 'PRODUCTION', identityId: identity.id });
  const lone = await createKey(h, acct.secret, { name: 'lone', type: 'PRODUCTION' });
  expect((await h.verify({ key: a.secret, cost: 2 })).body).toMatchObject({ code: 'VALID', quota: { limit: 3, remaining: 1 } });
  expect((await h.verify({ key: lone.secret, cost: 5 })).body).toMatchObject({ code: 'VALID', identity: null });
  expect((await h.verify({ key: a.secret, cost: 2 })).body).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: { remaining: 1 } });
});

test('changing the identity reaches its cached keys at once', async () => {
  const acct = await h.newAccount('identc');
  const identity = await newIdentity(acct.secret, { externalId: 'c', rateLimits: [{ window: 'MINUTE', limit: 100 }] });
  const a = await createKey(h, acct.secret, { name: 'a', type: 'PRODUCTION', identityId: identity.id });
  expect((await h2.verify({ key: a.secret })).body.code).toBe('VALID');
  ok(await h.gql(UPDATE_IDENTITY, { id: identity.id, input: { rateLimits: [{ window: 'MINUTE', limit: 1 }], metadata: { tier: 'free' } } }, acct.secret));
  let body: any;
  for (let i = 0; i < 50; i++) {
    body = (await h2.verify({ key: a.secret, cost: 0 })).body;
    if (body.identity.metadata?.tier === 'free') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(body.identity.metadata).toEqual({ tier: 'free' });
  // One a minute now: whatever the first answer, the second is refused.
  await h2.verify({ key: a.secret });
  expect((await h2.verify({ key: a.secret })).body).toMatchObject({ code: 'RATE_LIMITED', ratelimits: expect.arrayContaining([expect.objectContaining({ owner: 'IDENTITY', limit: 1 })]) });
});

test('derived keys stay under their parent identity; keys join and leave by update', async () => {
  const acct = await h.newAccount('identd');
  const one = await newIdentity(acct.secret, { externalId: 'one' });
  const two = await newIdentity(acct.secret, { externalId: 'two' });
  const parent = await createKey(h, acct.secret, { name: 'p', type: 'PRODUCTION', permission: 'MANAGE', identityId: one.id });
  const child = ok(await h.gql(DERIVE, { parentId: parent.key.id, input: { name: 'c', type: 'PRODUCTION' } }, acct.secret)).deriveKey;
  expect(child.key.identity).toEqual({ id: one.id });
  expectError(await h.gql(DERIVE, { parentId: parent.key.id, input: { name: 'c2', type: 'PRODUCTION', identityId: two.id } }, acct.secret), 'EXCEEDS_PARENT', 'input.identityId');
  const events = await h.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, kind: 'PRIVILEGE_ESCALATION' } });
  expect(events).toHaveLength(1);
  const lone = await createKey(h, acct.secret, { name: 'l', type: 'PRODUCTION' });
  expect(ok(await h.gql(UPDATE_KEY, { id: lone.key.id, input: { identityId: two.id } }, acct.secret)).updateKey.identity).toMatchObject({ id: two.id });
  expect(ok(await h.gql(UPDATE_KEY, { id: lone.key.id, input: { identityId: null } }, acct.secret)).updateKey.identity).toBeNull();
});

test('bad input names the field and writes nothing', async () => {
  const acct = await h.newAccount('identb');
  await newIdentity(acct.secret, { externalId: 'dup' });
  expectError(await h.gql(CREATE_IDENTITY, { input: { externalId: 'dup' } }, acct.secret), 'CONFLICT', 'input.externalId');
  expectError(await h.gql(CREATE_IDENTITY, { input: { externalId: '  ' } }, acct.secret), 'BAD_USER_INPUT', 'input.externalId');
  expectError(await h.gql(CREATE_IDENTITY, { input: { externalId: 'x', rateLimits: [{ window: 'MINUTE', limit: 0 }] } }, acct.secret), 'BAD_USER_INPUT', 'input.rateLimits[0].limit');
  expectError(await h.gql(CREATE_IDENTITY, { input: { externalId: 'x', metadata: [1] } }, acct.secret), 'BAD_USER_INPUT', 'input.metadata');
  expect(await h.db.prisma.identity.count({ where: { accountId: acct.accountId } })).toBe(1);
});

test('deleting an identity with live keys is a CONFLICT; once they are revoked it goes', async () => {
  const acct = await h.newAccount('identx');
  const identity = await newIdentity(acct.secret, { externalId: 'gone' });
  const a = await createKey(h, acct.secret, { name: 'a', type: 'PRODUCTION', identityId: identity.id });
  expectError(await h.gql(DELETE_IDENTITY, { id: identity.id }, acct.secret), 'CONFLICT');
  ok(await h.gql('mutation($id: ID!) { revokeKey(id: $id) { id } }', { id: a.key.id }, acct.secret));
  expect(ok(await h.gql(DELETE_IDENTITY, { id: identity.id }, acct.secret)).deleteIdentity).toBe(true);
  expect(ok(await h.gql(GET_IDENTITY, { externalId: 'gone' }, acct.secret)).identity).toBeNull();
  const actions = (await h.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId, targetType: 'Identity' }, orderBy: { sequence: 'asc' } })).map((e) => e.action);
  expect(actions).toEqual(['identity.create', 'identity.delete']);
});

test('two accounts: identities, their ids and their counters are their own', async () => {
  const one = await h.newAccount('identt1');
  const two = await h.newAccount('identt2');
  // The same externalId in two accounts: two identities, two separate limits.
  const i1 = await newIdentity(one.secret, { externalId: 'shared', rateLimits: [{ window: 'MINUTE', limit: 1 }] });
  const i2 = await newIdentity(two.secret, { externalId: 'shared', rateLimits: [{ window: 'MINUTE', limit: 1 }] });
  const k1 = await createKey(h, one.secret, { name: 'k', type: 'PRODUCTION', identityId: i1.id });
  const k2 = await createKey(h, two.secret, { name: 'k', type: 'PRODUCTION', identityId: i2.id });
  expect((await h.verify({ key: k1.secret })).body.code).toBe('VALID');
  expect((await h.verify({ key: k2.secret })).body.code).toBe('VALID');
  expectError(await h.gql(GET_IDENTITY, { id: i1.id }, two.secret), 'NOT_FOUND');
  expectError(await h.gql(UPDATE_IDENTITY, { id: i1.id, input: { externalId: 'mine' } }, two.secret), 'NOT_FOUND');
  expectError(await h.gql(DELETE_IDENTITY, { id: i1.id }, two.secret), 'NOT_FOUND');
  expectError(await h.gql('mutation($input: CreateKeyInput!) { createKey(input: $input) { secret } }', { input: { name: 'x', type: 'PRODUCTION', identityId: i1.id } }, two.secret), 'BAD_USER_INPUT', 'input.identityId');
  expect(ok(await h.gql(LIST_IDENTITIES, { search: 'SHAR' }, two.secret)).identities.edges.map((e: any) => e.node.id)).toEqual([i2.id]);
});

test('only a master key changes identities', async () => {
  const acct = await h.newAccount('identm');
  const admin = await createKey(h, acct.secret, { name: 'admin', type: 'PRODUCTION', permission: 'MANAGE' });
  expectError(await h.gql(CREATE_IDENTITY, { input: { externalId: 'nope' } }, admin.secret), 'FORBIDDEN');
});
