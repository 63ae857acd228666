import { clock } from '../../src/infra/clock';
import { startHarness, type Harness } from '../helpers/harness';
import { GET_KEY, UPDATE_KEY, allAuditEvents, createAgent, createGroup, createKey, createWorkflow, ok } from '../helpers/gql-fixtures';

// updateKey changes only what the input names, takes effect on verification at once (README, Verification:
// changes reach every cache), and the directory mutations return their relations.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('update');
});
afterAll(() => h.close());
afterEach(() => clock.reset());

test('updateKey changes the named settings and leaves every other one as it was', async () => {
  const { key } = await createKey(h, acct.secret, { name: 'partial', type: 'PRODUCTION', allowedCountries: ['DE'], metadata: { team: 'a' } });
  const updated = ok(await h.gql(UPDATE_KEY, { id: key.id, input: { name: 'partial-2', maxConcurrent: 4 } }, acct.secret)).updateKey;
  expect(updated).toEqual({ ...key, name: 'partial-2', maxConcurrent: 4 });
});

test('updateKey can clear expiresAt and metadata with null', async () => {
  const { key } = await createKey(h, acct.secret, { name: 'clearable', type: 'DEVELOPMENT', metadata: { a: 1 } });
  expect(key.expiresAt).not.toBeNull();
  const updated = ok(await h.gql(UPDATE_KEY, { id: key.id, input: { expiresAt: null, metadata: null } }, acct.secret)).updateKey;
  expect(updated).toMatchObject({ expiresAt: null, metadata: null });
});

test('updateKey moves a key between scopes, and the old scope target is dropped', async () => {
  const agent = await createAgent(h, acct.secret, { name: 'scope-agent' });
  const group = await createGroup(h, acct.secret, { name: 'scope-group', agentIds: [agent.id] });
  const wf = await createWorkflow(h, acct.secret, { name: 'scope-wf', agentIds: [agent.id] });
  const { key } = await createKey(h, acct.secret, { name: 'mover', type: 'PRODUCTION', scope: { kind: 'SINGLE_AGENT', agentId: agent.id } });
  const toGroup = ok(await h.gql(UPDATE_KEY, { id: key.id, input: { scope: { kind: 'AGENT_GROUP', groupId: group.id } } }, acct.secret)).updateKey;
  expect(toGroup.scope).toEqual({ kind: 'AGENT_GROUP', agent: null, group: { id: group.id, name: 'scope-group' }, workflows: [] });
  const toWf = ok(await h.gql(UPDATE_KEY, { id: key.id, input: { scope: { kind: 'WORKFLOW', workflowIds: [wf.id] } } }, acct.secret)).updateKey;
  expect(toWf.scope).toEqual({ kind: 'WORKFLOW', agent: null, group: null, workflows: [{ id: wf.id, name: 'scope-wf' }] });
  const toAll = ok(await h.gql(UPDATE_KEY, { id: key.id, input: { scope: { kind: 'ALL_AGENTS' } } }, acct.secret)).updateKey;
  expect(toAll.scope).toEqual({ kind: 'ALL_AGENTS', agent: null, group: null, workflows: [] });
});

test('an ipAllowlist set by updateKey applies to verification at once', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'fenced', type: 'PRODUCTION' });
  expect((await h.verify({ key: secret, ip: '198.51.100.20' })).body.code).toBe('VALID'); // cached now
  ok(await h.gql(UPDATE_KEY, { id: key.id, input: { ipAllowlist: ['203.0.113.0/24'] } }, acct.secret));
  expect((await h.verify({ key: secret, ip: '198.51.100.20' })).body).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
  expect((await h.verify({ key: secret, ip: '203.0.113.99' })).body).toMatchObject({ valid: true, code: 'VALID' });
});

test('a permission lowered by updateKey applies to verification at once', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'demoted', type: 'PRODUCTION', permission: 'EXECUTE' });
  expect((await h.verify({ key: secret, permission: 'EXECUTE' })).body.code).toBe('VALID');
  ok(await h.gql(UPDATE_KEY, { id: key.id, input: { permission: 'READ_ONLY' } }, acct.secret));
  expect((await h.verify({ key: secret, permission: 'EXECUTE' })).body).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });
});

test('updateKey through an upper-case id updates the key, applies at once and audits the canonical id', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'shouty', type: 'PRODUCTION' });
  expect((await h.verify({ key: secret, ip: '198.51.100.20' })).body.code).toBe('VALID'); // cached now
  const updated = ok(await h.gql(UPDATE_KEY, { id: key.id.toUpperCase(), input: { ipAllowlist: ['203.0.113.0/24'] } }, acct.secret)).updateKey;
  expect(updated).toMatchObject({ id: key.id, ipAllowlist: ['203.0.113.0/24'] });
  // The cached entry must be dropped although the id was spelled differently.
  expect((await h.verify({ key: secret, ip: '198.51.100.20' })).body).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
  // The audit log names the key by its id as every other query shows it.
  const events = await allAuditEvents(h, acct.secret, { targetId: key.id });
  expect(events.map((e) => e.action)).toEqual(['key.update', 'key.create']);
});

test('an expiresAt moved into the near past by the clock makes the key EXPIRED and unusable', async () => {
  const { key, secret } = await createKey(h, acct.secret, { name: 'brief', type: 'PRODUCTION' });
  ok(await h.gql(UPDATE_KEY, { id: key.id, input: { expiresAt: new Date(clock.nowMs() + 3_000).toISOString() } }, acct.secret));
  clock.advance(4_000);
  expect((await h.verify({ key: secret })).body).toMatchObject({ valid: false, code: 'EXPIRED' });
  expect(ok(await h.gql(GET_KEY, { id: key.id }, acct.secret)).key.status).toBe('EXPIRED');
});

describe('directory mutations return their relations', () => {
  test('createAgentGroup returns the group with its agents', async () => {
    const a = await createAgent(h, acct.secret, { name: 'rel-agent-1' });
    const b = await createAgent(h, acct.secret, { name: 'rel-agent-2' });
    const res = await h.gql(`mutation($input: CreateAgentGroupInput!) { createAgentGroup(input: $input) { id name agents { id name } } }`, { input: { name: 'rel-group', agentIds: [a.id, b.id] } }, acct.secret);
    const group = ok(res).createAgentGroup;
    expect(group.agents.map((x: any) => x.id).sort()).toEqual([a.id, b.id].sort());
  });

  test('createWorkflow returns the workflow with its agents', async () => {
    const a = await createAgent(h, acct.secret, { name: 'rel-agent-3' });
    const res = await h.gql(`mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id agents { id } } }`, { input: { name: 'rel-wf', agentIds: [a.id] } }, acct.secret);
    expect(ok(res).createWorkflow.agents).toEqual([{ id: a.id }]);
  });

  test('createAgent returns the agent with its (empty) groups', async () => {
    const res = await h.gql(`mutation { createAgent(input: { name: "rel-agent-4" }) { id groups { id } } }`, {}, acct.secret);
    expect(ok(res).createAgent.groups).toEqual([]);
  });

  test('agents lists each agent with its groups', async () => {
    const a = await createAgent(h, acct.secret, { name: 'rel-agent-5' });
    const g = await createGroup(h, acct.secret, { name: 'rel-group-5', agentIds: [a.id] });
    const res = ok(await h.gql(`{ agents(first: 100) { edges { node { id groups { id } } } } }`, {}, acct.secret));
    expect(res.agents.edges.find((e: any) => e.node.id === a.id).node.groups).toEqual([{ id: g.id }]);
  });
});
