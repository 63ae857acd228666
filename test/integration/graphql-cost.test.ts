import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, KEY_FIELDS, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: a list field weighs its selection by the rows it may return (`first`
// or `last` as asked, the page size otherwise), so many aliases of big pages, or pages inside
// pages, answer QUERY_TOO_COMPLEX before anything runs; ordinary pages (the dashboard's) run.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('cost');
  const parent = await createKey(h, acct.secret, { name: 'parent', type: 'DEVELOPMENT', permission: 'MANAGE' });
  await createKey(h, acct.secret, { name: 'other', type: 'DEVELOPMENT' });
  ok(await h.gql(`mutation($p: ID!) { deriveKey(parentId: $p, input: { name: "child", type: DEVELOPMENT }) { key { id } } }`, { p: parent.key.id }, acct.secret));
});
afterAll(() => h.close());

const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

test.each<[string, string]>([
  ['40 aliases of keys(first: 100) { descendantCount }', aliases(40, 'keys(first: 100) { edges { node { descendantCount } } }')],
  ['20 aliases of auditEvents(first: 100) with the actor', aliases(20, 'auditEvents(first: 100) { edges { node { id action actor { id name } } } }')],
  ['pages inside pages: children(first: 100) of keys(first: 100)', '{ keys(first: 100) { edges { node { id children(first: 100) { edges { node { id children(first: 100) { edges { node { id } } } } } } } } } }'],
  ['backwards pages: last: 100', aliases(20, 'keys(last: 100) { edges { node { id parent { id } successor { id } } } }')],
  ['recentAccess(first: 1000) on every key of a page', '{ keys(first: 100) { edges { node { id recentAccess(first: 1000) { at ip } } } } }'],
  ['a page of keys with every field, many times over', aliases(2, `keys(first: 100) { edges { node { ${KEY_FIELDS} } } }`)],
])('%s answers QUERY_TOO_COMPLEX and runs nothing', async (_label, query) => {
  const res = await h.gql(query, {}, acct.secret);
  expect(expectError(res, 'QUERY_TOO_COMPLEX').message).toMatch(/complexity \d+ exceeds the limit of 5000/);
  expect(res.data ?? null).toBeNull();
});

test.each<[string, string]>([
  ['one page of keys with every field', `{ keys(first: 100) { edges { cursor node { ${KEY_FIELDS} } } pageInfo { endCursor } } }`],
  ['a page of keys with descendantCount', '{ keys(first: 100) { edges { node { id descendantCount } } } }'],
  [
    "the dashboard's lists",
    '{ agents(first: 100) { edges { node { id name } } } agentGroups(first: 100) { edges { node { id name } } } workflows(first: 100) { edges { node { id name } } } securityEvents(first: 100) { edges { node { id kind } } } }',
  ],
])('%s runs', async (_label, query) => {
  ok(await h.gql(query, {}, acct.secret));
});

test('descendantCount is right for every key of a page', async () => {
  const data = ok(await h.gql('{ keys(first: 100) { edges { node { name descendantCount } } } }', {}, acct.secret));
  const counts = Object.fromEntries(data.keys.edges.map((e: any) => [e.node.name, e.node.descendantCount]));
  expect(counts).toEqual({ master: 0, parent: 1, other: 0, child: 0 });
});

test('effectivePermissions of a page of keys reads the ancestors once, not once per key', async () => {
  const other = await h.newAccount('cost-perm');
  const role = ok(await h.gql('mutation { createRole(input: { name: "invoices", permissions: ["billing.invoices.*"] }) { id } }', {}, other.secret)).createRole;
  const parent = await createKey(h, other.secret, { name: 'p', type: 'DEVELOPMENT', permission: 'MANAGE', permissions: ['agents.execute'], roles: [role.id] });
  const derive = `mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { key { id } } }`;
  const children: string[] = [];
  for (let i = 0; i < 12; i++) {
    const input = { name: `c${i}`, type: 'DEVELOPMENT', permission: 'MANAGE', permissions: i % 2 ? ['agents.execute'] : ['billing.invoices.read'], roles: [] };
    children.push(ok(await h.gql(derive, { p: parent.key.id, input }, other.secret)).deriveKey.key.id);
  }
  for (let i = 0; i < 12; i++) ok(await h.gql(derive, { p: children[i], input: { name: `g${i}`, type: 'DEVELOPMENT' } }, other.secret));

  // Narrowing the parent narrows its subtree: c1 and g1 lose agents.execute.
  ok(await h.gql('mutation($id: ID!) { updateKey(id: $id, input: { permissions: [] }) { id } }', { id: parent.key.id }, other.secret));
  const page = (fields: string) => `{ keys(first: 100) { edges { node { name ${fields} } } } }`;
  const before = h.db.queryCount();
  ok(await h.gql(page(''), {}, other.secret));
  const plain = h.db.queryCount() - before;
  const start = h.db.queryCount();
  const data = ok(await h.gql(page('effectivePermissions'), {}, other.secret));
  const withPermissions = h.db.queryCount() - start;
  // The page (26 keys, 24 of them derived) costs a fixed few more queries: the keys' roles and one
  // batched read of every ancestor with its roles.
  expect(withPermissions - plain).toBeLessThanOrEqual(3);

  const byName = Object.fromEntries(data.keys.edges.map((e: any) => [e.node.name, e.node.effectivePermissions]));
  expect(byName.master).toEqual(['*']);
  expect(byName.p).toEqual(['billing.invoices.*']);
  expect(byName.c0).toEqual(['billing.invoices.read']);
  expect(byName.c1).toEqual([]);
  expect(byName.g0).toEqual(['billing.invoices.read']);
  expect(byName.g1).toEqual([]);
});
