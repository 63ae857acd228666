import { startHarness, type Harness } from '../helpers/harness';
import { AUDIT_EVENTS, GET_KEY, REVOKE_KEY, UPDATE_KEY, accountCounts, createAgent, createGroup, createKey, createWorkflow, expectError, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: nothing of another account is ever visible; an id from another account answers
// NOT_FOUND (or, inside an input, BAD_USER_INPUT naming the field), and changes nothing.

type Tenant = {
  acct: Awaited<ReturnType<Harness['newAccount']>>;
  agent: any;
  group: any;
  workflow: any;
  key: { secret: string; key: any };
};

let h: Harness;
let A: Tenant;
let B: Tenant;

async function tenant(label: string): Promise<Tenant> {
  const acct = await h.newAccount(label);
  // The same names in both accounts: names are unique per account only.
  const agent = await createAgent(h, acct.secret, { name: 'shared-agent-name', upstreamUrl: 'https://agent.example.com/' });
  const group = await createGroup(h, acct.secret, { name: 'shared-group-name', agentIds: [agent.id] });
  const workflow = await createWorkflow(h, acct.secret, { name: 'shared-workflow-name', agentIds: [agent.id] });
  const key = await createKey(h, acct.secret, { name: `${label}-key`, type: 'PRODUCTION', scope: { kind: 'SINGLE_AGENT', agentId: agent.id } });
  return { acct, agent, group, workflow, key };
}

beforeAll(async () => {
  h = await startHarness();
  A = await tenant('tenant-a');
  B = await tenant('tenant-b');
});
afterAll(() => h.close());

const everything = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id);

/** B's key as B sees it, with the fields an attack from A might have changed. */
async function bKeyThroughB() {
  return ok(await h.gql(GET_KEY, { id: B.key.key.id }, B.acct.secret)).key;
}

test("A's lists hold exactly A's objects and nothing of B", async () => {
  const q = `{
    keys(first: 100) { edges { node { id } } }
    agents(first: 100) { edges { node { id } } }
    agentGroups(first: 100) { edges { node { id } } }
    workflows(first: 100) { edges { node { id } } }
    auditEvents(first: 100) { edges { node { id targetId actor { id } } } }
  }`;
  const a = ok(await h.gql(q, {}, A.acct.secret));
  expect(everything(a.keys).sort()).toEqual([A.acct.keyId, A.key.key.id].sort());
  expect(everything(a.agents)).toEqual([A.agent.id]);
  expect(everything(a.agentGroups)).toEqual([A.group.id]);
  expect(everything(a.workflows)).toEqual([A.workflow.id]);
  const bIds = [B.acct.accountId, B.acct.keyId, B.key.key.id, B.agent.id, B.group.id, B.workflow.id];
  const aAudit = a.auditEvents.edges.map((e: any) => e.node);
  expect(aAudit).toHaveLength((await accountCounts(h, A.acct.accountId)).audit);
  for (const e of aAudit) {
    expect(bIds).not.toContain(e.targetId);
    if (e.actor) expect(e.actor.id).toBe(A.acct.keyId);
  }
  expect(JSON.stringify(a)).not.toContain(B.key.key.id);
  // The same holds the other way round.
  const b = ok(await h.gql(q, {}, B.acct.secret));
  expect(everything(b.keys).sort()).toEqual([B.acct.keyId, B.key.key.id].sort());
  expect(everything(b.agents)).toEqual([B.agent.id]);
});

test("filtering A's audit log by B's key or B's actor finds nothing", async () => {
  for (const filter of [{ targetId: B.key.key.id }, { actorKeyId: B.acct.keyId }, { targetId: B.agent.id }]) {
    expect(ok(await h.gql(AUDIT_EVENTS, { first: 50, filter }, A.acct.secret)).auditEvents.edges).toEqual([]);
  }
});

test("filtering A's keys by B's key as parent finds nothing", async () => {
  const res = ok(await h.gql(`query($p: ID) { keys(filter: { parentId: $p }) { edges { node { id } } } }`, { p: B.acct.keyId }, A.acct.secret));
  expect(res.keys.edges).toEqual([]);
});

test("A's verifyAuditChain covers A's events only", async () => {
  const status = ok(await h.gql(`{ verifyAuditChain { valid checked firstBrokenSequence } }`, {}, A.acct.secret)).verifyAuditChain;
  expect(status).toEqual({ valid: true, checked: (await accountCounts(h, A.acct.accountId)).audit, firstBrokenSequence: null });
});

test("key(id) with B's key id answers NOT_FOUND to A, in any letter case", async () => {
  for (const id of [B.key.key.id, B.key.key.id.toUpperCase(), B.acct.keyId]) {
    const res = await h.gql(GET_KEY, { id }, A.acct.secret);
    expectError(res, 'NOT_FOUND');
    expect(res.data?.key ?? null).toBeNull();
  }
});

test("A updating B's key answers NOT_FOUND and B's key is unchanged", async () => {
  const before = await bKeyThroughB();
  const countsB = await accountCounts(h, B.acct.accountId);
  for (const id of [B.key.key.id, B.key.key.id.toUpperCase()]) {
    expectError(await h.gql(UPDATE_KEY, { id, input: { name: 'pwned', ipAllowlist: ['203.0.113.66'] } }, A.acct.secret), 'NOT_FOUND');
  }
  expectError(await h.gql(UPDATE_KEY, { id: B.acct.keyId, input: { name: 'pwned-master' } }, A.acct.secret), 'NOT_FOUND');
  expect(await bKeyThroughB()).toEqual(before);
  expect(await accountCounts(h, B.acct.accountId)).toEqual(countsB);
});

test("A revoking B's key answers NOT_FOUND and B's key stays active and verifying", async () => {
  const before = await bKeyThroughB();
  const countsB = await accountCounts(h, B.acct.accountId);
  for (const id of [B.key.key.id, B.key.key.id.toUpperCase(), B.acct.keyId]) {
    expectError(await h.gql(REVOKE_KEY, { id, reason: 'cross-account' }, A.acct.secret), 'NOT_FOUND');
  }
  const after = await bKeyThroughB();
  expect(after).toEqual(before);
  expect(after).toMatchObject({ status: 'ACTIVE', revokedAt: null, revokedReason: null });
  expect(await accountCounts(h, B.acct.accountId)).toEqual(countsB);
  expect((await h.verify({ key: B.key.secret, agentId: B.agent.id })).body).toMatchObject({ valid: true, code: 'VALID' });
});

test.each([
  ['agent', () => ({ kind: 'SINGLE_AGENT', agentId: B.agent.id }), 'input.scope.agentId'],
  ['group', () => ({ kind: 'AGENT_GROUP', groupId: B.group.id }), 'input.scope.groupId'],
  ['workflow', () => ({ kind: 'WORKFLOW', workflowIds: [B.workflow.id] }), 'input.scope.workflowIds[0]'],
  ['workflow (second in the list)', () => ({ kind: 'WORKFLOW', workflowIds: [A.workflow.id, B.workflow.id] }), 'input.scope.workflowIds[1]'],
])("createKey by A with a scope naming B's %s is BAD_USER_INPUT and writes nothing", async (_what, scope, field) => {
  const countsA = await accountCounts(h, A.acct.accountId);
  const countsB = await accountCounts(h, B.acct.accountId);
  const res = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret } }`, { input: { name: 'cross', type: 'DEVELOPMENT', scope: scope() } }, A.acct.secret);
  expectError(res, 'BAD_USER_INPUT', field);
  expect(res.data?.createKey ?? null).toBeNull();
  expect(await accountCounts(h, A.acct.accountId)).toEqual(countsA);
  expect(await accountCounts(h, B.acct.accountId)).toEqual(countsB);
});

test("updateKey by A moving A's key into B's agent scope is BAD_USER_INPUT and A's key keeps its scope", async () => {
  const countsA = await accountCounts(h, A.acct.accountId);
  const res = await h.gql(UPDATE_KEY, { id: A.key.key.id, input: { scope: { kind: 'SINGLE_AGENT', agentId: B.agent.id } } }, A.acct.secret);
  expectError(res, 'BAD_USER_INPUT', 'input.scope.agentId');
  const res2 = await h.gql(UPDATE_KEY, { id: A.key.key.id, input: { scope: { kind: 'WORKFLOW', workflowIds: [B.workflow.id] } } }, A.acct.secret);
  expectError(res2, 'BAD_USER_INPUT', 'input.scope.workflowIds[0]');
  const key = ok(await h.gql(GET_KEY, { id: A.key.key.id }, A.acct.secret)).key;
  expect(key.scope).toMatchObject({ kind: 'SINGLE_AGENT', agent: { id: A.agent.id }, group: null, workflows: [] });
  expect(await accountCounts(h, A.acct.accountId)).toEqual(countsA);
});

test("createAgentGroup and createWorkflow by A with B's agent are BAD_USER_INPUT and write nothing", async () => {
  const countsA = await accountCounts(h, A.acct.accountId);
  expectError(await h.gql(`mutation($ids: [ID!]!) { createAgentGroup(input: { name: "cross-group", agentIds: $ids }) { id } }`, { ids: [A.agent.id, B.agent.id] }, A.acct.secret), 'BAD_USER_INPUT', 'input.agentIds[1]');
  expectError(await h.gql(`mutation($ids: [ID!]) { createWorkflow(input: { name: "cross-wf", agentIds: $ids }) { id } }`, { ids: [B.agent.id] }, A.acct.secret), 'BAD_USER_INPUT', 'input.agentIds[0]');
  expect(await accountCounts(h, A.acct.accountId)).toEqual(countsA);
  // B's agent is in no group or workflow of A.
  const groupsOfB = await h.db.prisma.agent.findUniqueOrThrow({ where: { id: B.agent.id }, select: { groups: { select: { accountId: true } }, workflows: { select: { accountId: true } } } });
  expect([...groupsOfB.groups, ...groupsOfB.workflows].every((g) => g.accountId === B.acct.accountId)).toBe(true);
});

test("B's all-agents master key cannot verify for A's agent (out of scope across accounts)", async () => {
  expect((await h.verify({ key: B.acct.secret, agentId: B.agent.id })).body).toMatchObject({ valid: true, code: 'VALID' });
  const v = await h.verify({ key: B.acct.secret, agentId: A.agent.id });
  expect(v.body).toMatchObject({ valid: false, code: 'OUT_OF_SCOPE' });
});

test.each(['not-a-uuid', '12345', "' OR 1=1 --", '00000000-0000-0000-0000-00000000000g', ''])('an id that is not a UUID (%j) answers NOT_FOUND, never an internal error', async (id) => {
  for (const [query, vars] of [
    [GET_KEY, { id }],
    [UPDATE_KEY, { id, input: { name: 'x' } }],
    [REVOKE_KEY, { id }],
  ] as const) {
    const res = await h.gql(query, vars, A.acct.secret);
    expectError(res, 'NOT_FOUND');
  }
});

test('a well-formed UUID that names nothing answers NOT_FOUND', async () => {
  const id = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
  expectError(await h.gql(GET_KEY, { id }, A.acct.secret), 'NOT_FOUND');
  expectError(await h.gql(UPDATE_KEY, { id, input: { name: 'x' } }, A.acct.secret), 'NOT_FOUND');
  expectError(await h.gql(REVOKE_KEY, { id }, A.acct.secret), 'NOT_FOUND');
});
