import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok } from '../helpers/gql-fixtures';

// Roles and permission strings: what a key holds, narrowed along its chain, asked for by
// verify's permission query; role changes reach cached keys on every instance at once.

const CREATE_ROLE = 'mutation($input: CreateRoleInput!) { createRole(input: $input) { id name description permissions } }';
const UPDATE_ROLE = 'mutation($id: ID!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { id permissions } }';
const DELETE_ROLE = 'mutation($id: ID!) { deleteRole(id: $id) }';
const KEY_GRANTS = 'query($id: ID!) { key(id: $id) { permissions roles { id name } effectivePermissions } }';
const DERIVE = 'mutation($parentId: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $parentId, input: $input) { secret key { id permissions effectivePermissions } } }';

let h: Harness;
let h2: Harness;
beforeAll(async () => {
  h = await startHarness();
  h2 = await startHarness({ db: h.db });
});
afterAll(async () => {
  await h2.close();
  await h.close();
});

async function role(secret: string, input: Record<string, unknown>) {
  return ok(await h.gql(CREATE_ROLE, { input }, secret)).createRole;
}

test('a key holds its own strings plus its roles; the verify query asks for them with AND, OR and parentheses', async () => {
  const acct = await h.newAccount('perm');
  const billing = await role(acct.secret, { name: 'billing', description: 'invoices', permissions: ['billing.invoices.read', 'billing.*'] });
  expect(billing.permissions).toEqual(['billing.*', 'billing.invoices.read']);
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', permissions: ['agents.execute'], roles: [billing.id] });
  expect(ok(await h.gql(KEY_GRANTS, { id: key.key.id }, acct.secret)).key).toEqual({
    permissions: ['agents.execute'],
    roles: [{ id: billing.id, name: 'billing' }],
    effectivePermissions: ['agents.execute', 'billing.*'],
  });
  const ask = async (permissions: string) => (await h.verify({ key: key.secret, permissions })).body;
  expect(await ask('agents.execute AND (billing.read OR billing.write)')).toMatchObject({ valid: true, code: 'VALID', permissions: ['agents.execute', 'billing.*'] });
  expect((await ask('agents.execute AND admin.users')).code).toBe('INSUFFICIENT_PERMISSIONS');
  expect((await ask('admin.users OR billing.refunds.create')).code).toBe('VALID');
  // The four levels keep working beside the strings.
  expect((await h.verify({ key: key.secret, permission: 'MANAGE', permissions: 'agents.execute' })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
});

test('a malformed query answers 400 naming it', async () => {
  const acct = await h.newAccount('permq');
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION' });
  for (const query of ['agents.execute AND', 'Billing.read', '(a OR b', 'a.*.b']) {
    const res = await h.verify({ key: key.secret, permissions: query });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(JSON.stringify(JSON.stringify(query)).slice(1, -1));
  }
  expect((await h.verify({ key: key.secret, permissions: 7 })).status).toBe(400);
});

test('a derived key asking for a string its parent lacks is EXCEEDS_PARENT with a PRIVILEGE_ESCALATION event', async () => {
  const acct = await h.newAccount('perme');
  const parent = await createKey(h, acct.secret, { name: 'p', type: 'PRODUCTION', permission: 'MANAGE', permissions: ['billing.*', 'agents.run'] });
  const narrower = ok(await h.gql(DERIVE, { parentId: parent.key.id, input: { name: 'c', type: 'PRODUCTION', permissions: ['billing.read'] } }, parent.secret)).deriveKey;
  expect(narrower.key.effectivePermissions).toEqual(['billing.read']);
  const inherited = ok(await h.gql(DERIVE, { parentId: parent.key.id, input: { name: 'd', type: 'PRODUCTION' } }, parent.secret)).deriveKey;
  expect(inherited.key.permissions).toEqual(['agents.run', 'billing.*']);
  expectError(await h.gql(DERIVE, { parentId: parent.key.id, input: { name: 'e', type: 'PRODUCTION', permissions: ['admin.*'] } }, parent.secret), 'EXCEEDS_PARENT', 'input.permissions');
  const admin = await role(acct.secret, { name: 'admin', permissions: ['admin.users'] });
  expectError(await h.gql(DERIVE, { parentId: parent.key.id, input: { name: 'f', type: 'PRODUCTION', roles: [admin.id] } }, parent.secret), 'EXCEEDS_PARENT', 'input.permissions');
  const events = await h.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, kind: 'PRIVILEGE_ESCALATION' } });
  expect(events).toHaveLength(2);
  expect(await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId } })).toBe(4);
  // Narrowing the parent narrows the child at verification.
  ok(await h.gql('mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id } }', { id: parent.key.id, input: { permissions: ['agents.run'] } }, acct.secret));
  expect((await h.verify({ key: narrower.secret, permissions: 'billing.read' })).body).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', permissions: [] });
});

test('deleting a role reaches a key cached on another instance within a second; changing one too', async () => {
  const acct = await h.newAccount('permd');
  const reader = await role(acct.secret, { name: 'reader', permissions: ['reports.read'] });
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', roles: [reader.id] });
  expect((await h2.verify({ key: key.secret, permissions: 'reports.read' })).body.code).toBe('VALID');
  ok(await h.gql(UPDATE_ROLE, { id: reader.id, input: { permissions: ['reports.read', 'reports.export'] } }, acct.secret));
  const until = async (query: string, code: string) => {
    let body: any;
    for (let i = 0; i < 50; i++) {
      body = (await h2.verify({ key: key.secret, permissions: query, cost: 0 })).body;
      if (body.code === code) return body;
      await new Promise((r) => setTimeout(r, 20));
    }
    return body;
  };
  expect((await until('reports.export', 'VALID')).code).toBe('VALID');
  expect(ok(await h.gql(DELETE_ROLE, { id: reader.id }, acct.secret)).deleteRole).toBe(true);
  expect(await until('reports.read', 'INSUFFICIENT_PERMISSIONS')).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', permissions: [] });
  const actions = (await h.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId, targetType: 'Role' }, orderBy: { sequence: 'asc' } })).map((e) => e.action);
  expect(actions).toEqual(['role.create', 'role.update', 'role.delete']);
});

test('bad input names the field and writes nothing; another account’s roles are unknown', async () => {
  const one = await h.newAccount('permb1');
  const two = await h.newAccount('permb2');
  expectError(await h.gql(CREATE_ROLE, { input: { name: 'x', permissions: ['ok.read', 'Bad.Read'] } }, one.secret), 'BAD_USER_INPUT', 'input.permissions[1]');
  expectError(await h.gql(CREATE_ROLE, { input: { name: 'x', permissions: ['a..b'] } }, one.secret), 'BAD_USER_INPUT', 'input.permissions[0]');
  expectError(await h.gql(CREATE_ROLE, { input: { name: 'x', permissions: ['a.*.b'] } }, one.secret), 'BAD_USER_INPUT', 'input.permissions[0]');
  const mine = await role(one.secret, { name: 'mine', permissions: ['a.read'] });
  expectError(await h.gql(CREATE_ROLE, { input: { name: 'mine', permissions: [] } }, one.secret), 'CONFLICT', 'input.name');
  const create = 'mutation($input: CreateKeyInput!) { createKey(input: $input) { secret } }';
  expectError(await h.gql(create, { input: { name: 'k', type: 'PRODUCTION', roles: [mine.id] } }, two.secret), 'BAD_USER_INPUT', 'input.roles[0]');
  expectError(await h.gql(create, { input: { name: 'k', type: 'PRODUCTION', permissions: ['UP.per'] } }, one.secret), 'BAD_USER_INPUT', 'input.permissions[0]');
  expectError(await h.gql(UPDATE_ROLE, { id: mine.id, input: { name: 'stolen' } }, two.secret), 'NOT_FOUND');
  expectError(await h.gql(DELETE_ROLE, { id: mine.id }, two.secret), 'NOT_FOUND');
  expect(ok(await h.gql('{ roles { id } }', {}, two.secret)).roles).toEqual([]);
  expect(await h.db.prisma.role.count({ where: { accountId: one.accountId } })).toBe(1);
  expect(await h.db.prisma.apiKey.count({ where: { accountId: { in: [one.accountId, two.accountId] } } })).toBe(2);
});
