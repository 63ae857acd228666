import { KEY_PRESETS } from '../../src/keys/presets';
import { startHarness, type Harness } from '../helpers/harness';

// Fields added for clients such as the dashboard: how many keys a revocation takes along, and
// the type presets a create form fills in.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

async function ok(query: string, variables: Record<string, unknown>, secret: string) {
  const r = await h.gql(query, variables, secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data;
}
const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`;
const DERIVE = `mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { secret key { id } } }`;
const COUNT = `query($id: ID!) { key(id: $id) { descendantCount } }`;

test('descendantCount counts every key below, at any depth, until it is revoked', async () => {
  const acct = await h.newAccount('desc');
  const root = (await ok(CREATE, { input: { name: 'root', type: 'PRODUCTION', permission: 'MANAGE' } }, acct.secret)).createKey.key.id;
  const a = (await ok(DERIVE, { p: root, input: { name: 'a', type: 'PRODUCTION' } }, acct.secret)).deriveKey.key.id;
  await ok(DERIVE, { p: root, input: { name: 'b', type: 'PRODUCTION' } }, acct.secret);
  const a1 = (await ok(DERIVE, { p: a, input: { name: 'a1', type: 'PRODUCTION', permission: 'READ_ONLY' } }, acct.secret)).deriveKey.key.id;
  await ok(DERIVE, { p: a, input: { name: 'a2', type: 'PRODUCTION', permission: 'READ_ONLY' } }, acct.secret);

  expect((await ok(COUNT, { id: root }, acct.secret)).key.descendantCount).toBe(4);
  expect((await ok(COUNT, { id: a }, acct.secret)).key.descendantCount).toBe(2);
  expect((await ok(COUNT, { id: a1 }, acct.secret)).key.descendantCount).toBe(0);

  await ok(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: a }, acct.secret);
  expect((await ok(COUNT, { id: root }, acct.secret)).key.descendantCount).toBe(1);
  expect((await ok(COUNT, { id: a }, acct.secret)).key.descendantCount).toBe(0);
});

test('descendantCount on a page of 50 keys costs one grouped count, not one per key', async () => {
  const acct = await h.newAccount('desc-page');
  const expected = new Map<string, number>([[acct.keyId, 0]]);
  const root = (await ok(CREATE, { input: { name: 'root', type: 'PRODUCTION', permission: 'MANAGE' } }, acct.secret)).createKey.key.id;
  expected.set(root, 49);
  for (let c = 0; c < 7; c++) {
    const child = (await ok(DERIVE, { p: root, input: { name: `c${c}`, type: 'PRODUCTION' } }, acct.secret)).deriveKey.key.id;
    expected.set(child, 6);
    for (let g = 0; g < 6; g++) {
      const leaf = (await ok(DERIVE, { p: child, input: { name: `c${c}g${g}`, type: 'PRODUCTION' } }, acct.secret)).deriveKey.key.id;
      expected.set(leaf, 0);
    }
  }
  const page = (fields: string) => `{ keys(first: 50) { edges { node { ${fields} } } } }`;
  await ok(page('id'), {}, acct.secret); // the calling key is cached from here on

  const q0 = h.db.queryCount();
  await ok(page('id'), {}, acct.secret);
  const q1 = h.db.queryCount();
  const listed = (await ok(page('id descendantCount'), {}, acct.secret)).keys.edges.map((e: any) => e.node);
  const q2 = h.db.queryCount();

  expect(listed).toHaveLength(50);
  for (const k of listed) expect([k.id, k.descendantCount]).toEqual([k.id, expected.get(k.id)]);
  // The same page with descendantCount costs exactly one statement more.
  expect(q2 - q1 - (q1 - q0)).toBe(1);
});

test("another account cannot read a key's descendant count", async () => {
  const owner = await h.newAccount('desc-owner');
  const other = await h.newAccount('desc-other');
  const root = (await ok(CREATE, { input: { name: 'root', type: 'PRODUCTION', permission: 'MANAGE' } }, owner.secret)).createKey.key.id;
  const r = await h.gql(COUNT, { id: root }, other.secret);
  expect(r.errors?.[0].extensions?.code).toBe('NOT_FOUND');
});

test('keyTypePresets lists the documented presets for every type', async () => {
  const acct = await h.newAccount('presets');
  const d = await ok(`{ keyTypePresets { type permission expiresInDays rateLimits { window limit } rotationPeriodDays requiresIpAllowlist } }`, {}, acct.secret);
  const byType = Object.fromEntries(d.keyTypePresets.map((p: { type: string }) => [p.type, p]));
  expect(Object.keys(byType).sort()).toEqual(['DEVELOPMENT', 'EMERGENCY', 'INTEGRATION', 'PRODUCTION']);
  expect(byType.DEVELOPMENT).toEqual({ type: 'DEVELOPMENT', permission: 'READ_ONLY', expiresInDays: 30, rateLimits: [{ window: 'MINUTE', limit: 60 }], rotationPeriodDays: 30, requiresIpAllowlist: false });
  expect(byType.PRODUCTION).toMatchObject({ permission: 'EXECUTE', expiresInDays: 365, rateLimits: [{ window: 'MINUTE', limit: 6000 }], rotationPeriodDays: 90 });
  expect(byType.INTEGRATION).toMatchObject({ permission: 'READ_ONLY', expiresInDays: 90, rateLimits: [{ window: 'MINUTE', limit: 600 }], rotationPeriodDays: 90 });
  expect(byType.EMERGENCY).toMatchObject({ permission: 'FULL_ACCESS', expiresInDays: 7, rateLimits: [{ window: 'MINUTE', limit: 12000 }], rotationPeriodDays: null, requiresIpAllowlist: true });
  expect(byType.PRODUCTION.rateLimits).toEqual(KEY_PRESETS.PRODUCTION.rateLimits);
});

test('keyTypePresets needs a key', async () => {
  const r = await h.gql(`{ keyTypePresets { type } }`, {}, null);
  expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
});
