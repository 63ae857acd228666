import { startHarness, type Harness } from '../helpers/harness';
import { GET_KEY, REVOKE_KEY, UPDATE_KEY, VIEWER, accountCounts, createAgent, createGroup, createKey, createWorkflow, expectError, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: a master key administers its whole account; a MANAGE/FULL_ACCESS key administers the
// keys derived from it (its subtree); other keys may read `viewer` only.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
let agent: any;
let group: any;
let workflow: any;
const keys: Record<string, { secret: string; key: any }> = {};

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('authz');
  agent = await createAgent(h, acct.secret, { name: 'agent-1' });
  group = await createGroup(h, acct.secret, { name: 'group-1', agentIds: [agent.id] });
  workflow = await createWorkflow(h, acct.secret, { name: 'workflow-1', agentIds: [agent.id] });
  keys.readOnly = await createKey(h, acct.secret, { name: 'reader', type: 'DEVELOPMENT', permission: 'READ_ONLY' });
  keys.execute = await createKey(h, acct.secret, { name: 'executor', type: 'PRODUCTION', permission: 'EXECUTE' });
  keys.manage = await createKey(h, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  keys.sibling = await createKey(h, acct.secret, { name: 'sibling', type: 'INTEGRATION' });
  keys.fullAccess = await createKey(h, acct.secret, { name: 'full', type: 'PRODUCTION', permission: 'FULL_ACCESS' });
});
afterAll(() => h.close());

const LIST_KEYS = `{ keys(first: 100) { edges { node { id name } } } }`;
const LIST_AGENTS = `{ agents(first: 100) { edges { node { id name } } } }`;
const LIST_GROUPS = `{ agentGroups(first: 100) { edges { node { id name } } } }`;
const LIST_WORKFLOWS = `{ workflows(first: 100) { edges { node { id name } } } }`;
const LIST_AUDIT = `{ auditEvents(first: 100) { edges { node { id action targetId } } } }`;
const VERIFY_CHAIN = `{ verifyAuditChain { valid checked firstBrokenSequence } }`;

const ids = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id).sort();

test('a master key lists every key, agent, group, workflow and audit event of its account', async () => {
  const allKeyIds = [acct.keyId, ...Object.values(keys).map((k) => k.key.id)].sort();
  expect(ids(ok(await h.gql(LIST_KEYS, {}, acct.secret)).keys)).toEqual(allKeyIds);
  expect(ids(ok(await h.gql(LIST_AGENTS, {}, acct.secret)).agents)).toEqual([agent.id]);
  expect(ids(ok(await h.gql(LIST_GROUPS, {}, acct.secret)).agentGroups)).toEqual([group.id]);
  expect(ids(ok(await h.gql(LIST_WORKFLOWS, {}, acct.secret)).workflows)).toEqual([workflow.id]);
  const audit = ok(await h.gql(LIST_AUDIT, {}, acct.secret)).auditEvents.edges.map((e: any) => e.node);
  const counts = await accountCounts(h, acct.accountId);
  expect(audit).toHaveLength(counts.audit);
  // account.create, the master's key.create, three directory objects, five keys.
  expect(audit).toHaveLength(10);
  const auditedKeys = audit
    .filter((e: any) => e.action === 'key.create')
    .map((e: any) => e.targetId)
    .sort();
  expect(auditedKeys).toEqual(allKeyIds);
  expect(ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain).toEqual({ valid: true, checked: 10, firstBrokenSequence: null });
  // ...and may read any key of the account by id.
  expect(ok(await h.gql(GET_KEY, { id: keys.sibling.key.id }, acct.secret)).key.name).toBe('sibling');
});

describe.each([
  ['READ_ONLY', 'readOnly'],
  ['EXECUTE', 'execute'],
])('a %s key', (permission, which) => {
  const secret = () => keys[which].secret;
  const self = () => keys[which].key;

  test('reads viewer: itself and its account', async () => {
    expect(ok(await h.gql(VIEWER, {}, secret())).viewer).toEqual({
      key: { id: self().id, name: self().name, permission, master: false },
      account: { id: acct.accountId, name: acct.name },
    });
  });

  test.each([
    ['keys', LIST_KEYS],
    ['agents', LIST_AGENTS],
    ['agentGroups', LIST_GROUPS],
    ['workflows', LIST_WORKFLOWS],
    ['auditEvents', LIST_AUDIT],
    ['verifyAuditChain', VERIFY_CHAIN],
  ])('is FORBIDDEN to query %s', async (_field, query) => {
    const res = await h.gql(query, {}, secret());
    expectError(res, 'FORBIDDEN');
    expect(res.data ?? null).toBeNull();
  });

  test('is FORBIDDEN to create, update or revoke keys, and nothing changes', async () => {
    const before = await accountCounts(h, acct.accountId);
    expectError(await h.gql(`mutation { createKey(input: { name: "nope", type: DEVELOPMENT }) { secret } }`, {}, secret()), 'FORBIDDEN');
    // Its own key, a sibling and the master: all forbidden, whatever the target.
    for (const id of [self().id, keys.sibling.key.id, acct.keyId]) {
      expectError(await h.gql(UPDATE_KEY, { id, input: { name: 'renamed' } }, secret()), 'FORBIDDEN');
      expectError(await h.gql(REVOKE_KEY, { id, reason: 'nope' }, secret()), 'FORBIDDEN');
    }
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
    const sibling = ok(await h.gql(GET_KEY, { id: keys.sibling.key.id }, acct.secret)).key;
    expect(sibling).toMatchObject({ name: 'sibling', status: 'ACTIVE', revokedAt: null });
    expect(ok(await h.gql(GET_KEY, { id: self().id }, acct.secret)).key).toMatchObject({ name: self().name, status: 'ACTIVE' });
  });

  test('is FORBIDDEN to create agents, groups and workflows', async () => {
    const before = await accountCounts(h, acct.accountId);
    expectError(await h.gql(`mutation { createAgent(input: { name: "a-${which}" }) { id } }`, {}, secret()), 'FORBIDDEN');
    expectError(await h.gql(`mutation { createAgentGroup(input: { name: "g-${which}", agentIds: [] }) { id } }`, {}, secret()), 'FORBIDDEN');
    expectError(await h.gql(`mutation { createWorkflow(input: { name: "w-${which}" }) { id } }`, {}, secret()), 'FORBIDDEN');
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
  });

  test('may read itself by id, but the master key answers NOT_FOUND', async () => {
    expect(ok(await h.gql(GET_KEY, { id: self().id }, secret())).key.id).toBe(self().id);
    expectError(await h.gql(GET_KEY, { id: acct.keyId }, secret()), 'NOT_FOUND');
  });
});

describe('a MANAGE key (not master)', () => {
  const secret = () => keys.manage.secret;

  test('reads viewer and its own key', async () => {
    expect(ok(await h.gql(VIEWER, {}, secret())).viewer.key).toEqual({ id: keys.manage.key.id, name: 'manager', permission: 'MANAGE', master: false });
  });

  test('is FORBIDDEN to createKey (only a master key creates keys), and no key is written', async () => {
    const before = await accountCounts(h, acct.accountId);
    expectError(await h.gql(`mutation { createKey(input: { name: "from-manager", type: DEVELOPMENT }) { secret } }`, {}, secret()), 'FORBIDDEN');
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
  });

  test('gets NOT_FOUND updating or revoking the master key, and the master key is unchanged', async () => {
    const before = await accountCounts(h, acct.accountId);
    expectError(await h.gql(UPDATE_KEY, { id: acct.keyId, input: { name: 'hijacked' } }, secret()), 'NOT_FOUND');
    expectError(await h.gql(REVOKE_KEY, { id: acct.keyId, reason: 'coup' }, secret()), 'NOT_FOUND');
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
    expect(ok(await h.gql(VIEWER, {}, acct.secret)).viewer.key).toMatchObject({ id: acct.keyId, name: 'master' });
  });

  test('gets NOT_FOUND updating or revoking a sibling key, and the sibling is unchanged', async () => {
    const before = await accountCounts(h, acct.accountId);
    for (const sib of [keys.sibling, keys.readOnly, keys.fullAccess]) {
      expectError(await h.gql(UPDATE_KEY, { id: sib.key.id, input: { name: 'renamed-by-manager' } }, secret()), 'NOT_FOUND');
      expectError(await h.gql(REVOKE_KEY, { id: sib.key.id }, secret()), 'NOT_FOUND');
      const now = ok(await h.gql(GET_KEY, { id: sib.key.id }, acct.secret)).key;
      expect(now).toMatchObject({ name: sib.key.name, status: 'ACTIVE', revokedAt: null });
    }
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
  });

  test('gets NOT_FOUND changing itself (it administers only keys below it)', async () => {
    expectError(await h.gql(UPDATE_KEY, { id: keys.manage.key.id, input: { name: 'self-renamed' } }, secret()), 'NOT_FOUND');
    expect(ok(await h.gql(VIEWER, {}, secret())).viewer.key.name).toBe('manager');
  });

  test('lists no key outside its subtree and cannot read the master or a sibling by id', async () => {
    const listed = ids(ok(await h.gql(LIST_KEYS, {}, secret())).keys);
    for (const outside of [acct.keyId, keys.sibling.key.id, keys.readOnly.key.id, keys.fullAccess.key.id]) expect(listed).not.toContain(outside);
    expect(listed).toEqual([]);
    expectError(await h.gql(GET_KEY, { id: acct.keyId }, secret()), 'NOT_FOUND');
    expectError(await h.gql(GET_KEY, { id: keys.sibling.key.id }, secret()), 'NOT_FOUND');
  });

  test('is FORBIDDEN to read the audit log (a master-key matter)', async () => {
    expectError(await h.gql(LIST_AUDIT, {}, secret()), 'FORBIDDEN');
  });

  test('does administer a key derived from itself: lists, updates and revokes it (the refusals above are about the subtree)', async () => {
    const derived = ok(
      await h.gql(
        `mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { secret key { id name } } }`,
        { p: keys.manage.key.id, input: { name: 'child-of-manager', type: 'DEVELOPMENT', permission: 'READ_ONLY' } },
        secret(),
      ),
    ).deriveKey;
    expect(ids(ok(await h.gql(LIST_KEYS, {}, secret())).keys)).toEqual([derived.key.id]);
    expect(ok(await h.gql(UPDATE_KEY, { id: derived.key.id, input: { name: 'child-renamed' } }, secret())).updateKey.name).toBe('child-renamed');
    expect(ok(await h.gql(REVOKE_KEY, { id: derived.key.id, reason: 'done' }, secret())).revokeKey.status).toBe('REVOKED');
    // Its siblings and the master are still out of reach.
    expectError(await h.gql(REVOKE_KEY, { id: keys.sibling.key.id }, secret()), 'NOT_FOUND');
  });
});

describe('a FULL_ACCESS key (not master)', () => {
  test('is FORBIDDEN to createKey and gets NOT_FOUND for the master key', async () => {
    const before = await accountCounts(h, acct.accountId);
    expectError(await h.gql(`mutation { createKey(input: { name: "from-full", type: DEVELOPMENT }) { secret } }`, {}, keys.fullAccess.secret), 'FORBIDDEN');
    expectError(await h.gql(REVOKE_KEY, { id: acct.keyId }, keys.fullAccess.secret), 'NOT_FOUND');
    expectError(await h.gql(UPDATE_KEY, { id: keys.manage.key.id, input: { name: 'x' } }, keys.fullAccess.secret), 'NOT_FOUND');
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
  });
});
