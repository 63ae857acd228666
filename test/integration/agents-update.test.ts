import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import { configureUpstreams } from '../../src/agents/upstream-policy';
import { createRedis } from '../../src/infra/redis';
import { keyInvalidationChannel, targetInvalidationChannel } from '../../src/infra/redis-keys';
import { openDatabase, type Database } from '../../src/infra/db';
import { startHarness, type Harness } from '../helpers/harness';
import { accountCounts, allAuditEvents, createAgent, createGroup, createKey, createWorkflow, expectError, ok } from '../helpers/gql-fixtures';
import { signedInOperator } from '../helpers/operators';
import { eventually } from '../helpers/webhooks';

// Changing agents, agent groups and workflows: what the input names changes (with the create
// checks), bad input names its field and writes nothing, another account's ids are NOT_FOUND, and
// the change reaches keys already cached on another instance at once: a new upstream through the
// gateway, new members through the keys scoped to the group or workflow.

const UPDATE_AGENT = `mutation($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { id name upstreamUrl } }`;
const UPDATE_GROUP = `mutation($id: ID!, $input: UpdateAgentGroupInput!) { updateAgentGroup(id: $id, input: $input) { id name agents { id } } }`;
const UPDATE_WORKFLOW = `mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { id name upstreamUrl agents { id } } }`;

let a: Harness;
let b: Harness;
let dbA: Database;
let dbB: Database;
let probe: Redis;
const upstreams: http.Server[] = [];

/** A loopback upstream answering with its own name. */
async function upstream(name: string): Promise<string> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  upstreams.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

beforeAll(async () => {
  // Two instances: separate database pools, caches and Redis connections.
  dbA = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
  dbB = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
  a = await startHarness({ db: dbA });
  b = await startHarness({ db: dbB });
  probe = createRedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  probe.disconnect();
  await a.close();
  await b.close();
  await dbA.close();
  await dbB.close();
  for (const s of upstreams) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  configureUpstreams({ allowPrivateNetworks: false });
});
afterEach(() => configureUpstreams({ allowPrivateNetworks: false }));

/** The next message on `channel`, once `action` has run. */
async function heardOn(channel: string, action: () => Promise<unknown>): Promise<unknown> {
  const sub = probe.duplicate();
  try {
    await sub.subscribe(channel);
    const message = new Promise<string>((resolve, reject) => {
      sub.on('message', (ch, m) => ch === channel && resolve(m));
      setTimeout(() => reject(new Error(`nothing was published on ${channel}`)), 5000).unref();
    });
    await action();
    return JSON.parse(await message);
  } finally {
    sub.disconnect();
  }
}

test('updateAgent changes the name and upstream, leaves out what the input leaves out, and audits before and after', async () => {
  const acct = await a.newAccount('agent-update');
  const agent = await createAgent(a, acct.secret, { name: 'before', upstreamUrl: 'https://one.example.com/' });
  const renamed = ok(await a.gql(UPDATE_AGENT, { id: agent.id, input: { name: 'after' } }, acct.secret)).updateAgent;
  expect(renamed).toEqual({ id: agent.id, name: 'after', upstreamUrl: 'https://one.example.com/' });
  const moved = ok(await a.gql(UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: 'https://two.example.com/v1' } }, acct.secret)).updateAgent;
  expect(moved).toEqual({ id: agent.id, name: 'after', upstreamUrl: 'https://two.example.com/v1' });
  const cleared = ok(await a.gql(UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: null } }, acct.secret)).updateAgent;
  expect(cleared.upstreamUrl).toBeNull();

  const events = (await allAuditEvents(a, acct.secret, { action: 'agent.update' })).reverse();
  expect(events.map((e) => [e.before.name, e.after.name, e.after.upstreamUrl])).toEqual([
    ['before', 'after', 'https://one.example.com/'],
    ['after', 'after', 'https://two.example.com/v1'],
    ['after', 'after', null],
  ]);
});

test('updateAgentGroup and updateWorkflow replace the members; an operator (ADMIN) may change them, an AUDITOR may not', async () => {
  const acct = await a.newAccount('group-update');
  const [x, y, z] = [await createAgent(a, acct.secret, { name: 'x' }), await createAgent(a, acct.secret, { name: 'y' }), await createAgent(a, acct.secret, { name: 'z' })];
  const group = await createGroup(a, acct.secret, { name: 'g', agentIds: [x.id] });
  const workflow = await createWorkflow(a, acct.secret, { name: 'w', agentIds: [x.id, y.id] });

  const admin = await signedInOperator(a, acct.accountId, 'ADMIN');
  const g = ok(await admin.gql(UPDATE_GROUP, { id: group.id, input: { name: 'g2', agentIds: [y.id, z.id] } })).updateAgentGroup;
  expect(g.name).toBe('g2');
  expect(g.agents.map((m: { id: string }) => m.id).sort()).toEqual([y.id, z.id].sort());
  const w = ok(await a.gql(UPDATE_WORKFLOW, { id: workflow.id, input: { agentIds: [], upstreamUrl: 'https://wf.example.com/' } }, acct.secret)).updateWorkflow;
  expect(w).toEqual({ id: workflow.id, name: 'w', upstreamUrl: 'https://wf.example.com/', agents: [] });
  const renamedOnly = ok(await a.gql(UPDATE_WORKFLOW, { id: workflow.id, input: { name: 'w2' } }, acct.secret)).updateWorkflow;
  expect(renamedOnly).toEqual({ id: workflow.id, name: 'w2', upstreamUrl: 'https://wf.example.com/', agents: [] });

  const [audit] = await allAuditEvents(a, acct.secret, { action: 'agentGroup.update' });
  expect(audit.before.agentIds).toEqual([x.id]);
  expect(audit.after.agentIds.sort()).toEqual([y.id, z.id].sort());

  const auditor = await signedInOperator(a, acct.accountId, 'AUDITOR');
  const before = await accountCounts(a, acct.accountId);
  expectError(await auditor.gql(UPDATE_GROUP, { id: group.id, input: { agentIds: [] } }), 'FORBIDDEN');
  expect(await accountCounts(a, acct.accountId)).toEqual(before);
});

describe('bad input names the field and writes nothing', () => {
  let acct: Awaited<ReturnType<Harness['newAccount']>>;
  let agent: any;
  let group: any;
  let workflow: any;
  beforeAll(async () => {
    acct = await a.newAccount('update-bad');
    agent = await createAgent(a, acct.secret, { name: 'kept', upstreamUrl: 'https://kept.example.com/' });
    await createAgent(a, acct.secret, { name: 'taken' });
    group = await createGroup(a, acct.secret, { name: 'group', agentIds: [agent.id] });
    workflow = await createWorkflow(a, acct.secret, { name: 'wf', agentIds: [agent.id], upstreamUrl: 'https://kept.example.com/' });
  });

  const cases: [string, () => [string, Record<string, unknown>], string, string][] = [
    ['a private upstream address', () => [UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: 'http://10.0.0.5/' } }], 'BAD_USER_INPUT', 'input.upstreamUrl'],
    ['a metadata address', () => [UPDATE_WORKFLOW, { id: workflow.id, input: { upstreamUrl: 'http://169.254.169.254/latest/' } }], 'BAD_USER_INPUT', 'input.upstreamUrl'],
    ['no URL at all', () => [UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: 'not a url' } }], 'BAD_USER_INPUT', 'input.upstreamUrl'],
    ['credentials in the URL', () => [UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: 'https://u:p@example.com/' } }], 'BAD_USER_INPUT', 'input.upstreamUrl'],
    ['an empty name', () => [UPDATE_AGENT, { id: agent.id, input: { name: '  ' } }], 'BAD_USER_INPUT', 'input.name'],
    ['an unknown member', () => [UPDATE_GROUP, { id: group.id, input: { agentIds: [agent.id, '00000000-0000-4000-8000-000000000000'] } }], 'BAD_USER_INPUT', 'input.agentIds[1]'],
    ['a malformed member id', () => [UPDATE_WORKFLOW, { id: workflow.id, input: { agentIds: ['nope'] } }], 'BAD_USER_INPUT', 'input.agentIds[0]'],
  ];
  test.each(cases)('%s', async (_what, op, code, field) => {
    const before = await accountCounts(a, acct.accountId);
    const [query, variables] = op();
    expectError(await a.gql(query, variables, acct.secret), code, field);
    expect(await accountCounts(a, acct.accountId)).toEqual(before);
    const rows = await a.db.prisma.agent.findUniqueOrThrow({ where: { id: agent.id }, include: { groups: true, workflows: true } });
    expect([rows.name, rows.upstreamUrl, rows.groups.length, rows.workflows.length]).toEqual(['kept', 'https://kept.example.com/', 1, 1]);
  });

  test("another agent's name is a CONFLICT", async () => {
    const before = await accountCounts(a, acct.accountId);
    expect(expectError(await a.gql(UPDATE_AGENT, { id: agent.id, input: { name: 'taken' } }, acct.secret), 'CONFLICT').message).toContain('taken');
    expect(await accountCounts(a, acct.accountId)).toEqual(before);
  });
});

test("another account's agent, group or workflow answers NOT_FOUND and stays as it was; a MANAGE key may not change them", async () => {
  const owner = await a.newAccount('update-owner');
  const other = await a.newAccount('update-other');
  const agent = await createAgent(a, owner.secret, { name: 'mine', upstreamUrl: 'https://mine.example.com/' });
  const group = await createGroup(a, owner.secret, { name: 'mine', agentIds: [agent.id] });
  const workflow = await createWorkflow(a, owner.secret, { name: 'mine', agentIds: [agent.id] });
  const theirs = await createAgent(a, other.secret, { name: 'theirs' });
  const before = await accountCounts(a, owner.accountId);

  expectError(await a.gql(UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: 'https://evil.example.com/' } }, other.secret), 'NOT_FOUND');
  expectError(await a.gql(UPDATE_GROUP, { id: group.id, input: { agentIds: [] } }, other.secret), 'NOT_FOUND');
  expectError(await a.gql(UPDATE_WORKFLOW, { id: workflow.id, input: { name: 'x' } }, other.secret), 'NOT_FOUND');
  // Another account's agent cannot be made a member either.
  expectError(await a.gql(UPDATE_GROUP, { id: group.id, input: { agentIds: [theirs.id] } }, owner.secret), 'BAD_USER_INPUT', 'input.agentIds[0]');
  const manage = await createKey(a, owner.secret, { name: 'm', type: 'PRODUCTION', permission: 'MANAGE' });
  expectError(await a.gql(UPDATE_AGENT, { id: agent.id, input: { name: 'x' } }, manage.secret), 'FORBIDDEN');

  expect(await accountCounts(a, owner.accountId)).toEqual({ ...before, keys: before.keys + 1, audit: before.audit + 1, auditSequence: before.auditSequence + 1, auditHeadHash: expect.any(String) });
  const row = await a.db.prisma.agent.findUniqueOrThrow({ where: { id: agent.id }, include: { groups: true } });
  expect([row.name, row.upstreamUrl, row.groups.length]).toEqual(['mine', 'https://mine.example.com/', 1]);
});

test('a new upstream reaches the gateway of every instance at once, also through Redis alone', async () => {
  configureUpstreams({ allowPrivateNetworks: true });
  const [one, two, three] = [await upstream('one'), await upstream('two'), await upstream('three')];
  const acct = await a.newAccount('upstream-move');
  const agent = await createAgent(a, acct.secret, { name: 'moving', upstreamUrl: one });
  const key = await createKey(a, acct.secret, { name: 'k', type: 'PRODUCTION', scope: { kind: 'SINGLE_AGENT', agentId: agent.id } });
  const viaB = async () => (await fetch(`${b.url}/v1/agents/${agent.id}/x`, { headers: { authorization: `Bearer ${key.secret}` } })).text();
  expect(await viaB()).toBe('one'); // b now caches the upstream

  // Changed through a: a tells Redis, and b answers from the new upstream on the next request.
  const heard = await heardOn(targetInvalidationChannel(a.prefix), () => a.gql(UPDATE_AGENT, { id: agent.id, input: { upstreamUrl: two } }, acct.secret));
  expect(heard).toEqual([`agent:${agent.id}`]);
  expect(await viaB()).toBe('two');

  // As another process would see it: only the Redis message tells b.
  await b.db.prisma.agent.update({ where: { id: agent.id }, data: { upstreamUrl: three } });
  expect(await viaB()).toBe('two'); // still cached
  await probe.publish(targetInvalidationChannel(b.prefix), JSON.stringify([`agent:${agent.id}`]));
  await eventually(async () => (await viaB()) === 'three', 2000, 'b reading the upstream again');
});

test('new members reach the keys scoped to the group or workflow, cached on another instance, at once', async () => {
  const acct = await a.newAccount('members-move');
  const [x, y] = [await createAgent(a, acct.secret, { name: 'x' }), await createAgent(a, acct.secret, { name: 'y' })];
  const group = await createGroup(a, acct.secret, { name: 'g', agentIds: [x.id] });
  const workflow = await createWorkflow(a, acct.secret, { name: 'w', agentIds: [x.id] });
  const byGroup = await createKey(a, acct.secret, { name: 'g', type: 'PRODUCTION', scope: { kind: 'AGENT_GROUP', groupId: group.id } });
  const byWorkflow = await createKey(a, acct.secret, { name: 'w', type: 'PRODUCTION', scope: { kind: 'WORKFLOW', workflowIds: [workflow.id] } });
  const code = async (secret: string, agentId: string) => (await b.verify({ key: secret, agentId })).body.code;

  expect([await code(byGroup.secret, y.id), await code(byWorkflow.secret, y.id)]).toEqual(['OUT_OF_SCOPE', 'OUT_OF_SCOPE']); // cached on b
  const heard = await heardOn(keyInvalidationChannel(a.prefix), () => a.gql(UPDATE_GROUP, { id: group.id, input: { agentIds: [y.id] } }, acct.secret));
  expect(heard).toEqual([byGroup.key.id]);
  expect([await code(byGroup.secret, y.id), await code(byGroup.secret, x.id)]).toEqual(['VALID', 'OUT_OF_SCOPE']);

  ok(await a.gql(UPDATE_WORKFLOW, { id: workflow.id, input: { agentIds: [x.id, y.id] } }, acct.secret));
  expect(await code(byWorkflow.secret, y.id)).toBe('VALID');
});

test('Agent, AgentGroup and Workflow list the keys scoped to them: the whole account for the master, the subtree for a MANAGE key, nothing of another account', async () => {
  const acct = await a.newAccount('scoped-keys');
  const other = await a.newAccount('scoped-keys-other');
  const agent = await createAgent(a, acct.secret, { name: 'ag' });
  const group = await createGroup(a, acct.secret, { name: 'gr', agentIds: [agent.id] });
  const workflow = await createWorkflow(a, acct.secret, { name: 'wf', agentIds: [agent.id] });
  const manage = await createKey(a, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  const derive = async (name: string, scope: Record<string, unknown>) =>
    ok(
      await a.gql(
        `mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { key { id } } }`,
        { p: manage.key.id, input: { name, type: 'PRODUCTION', permission: 'READ_ONLY', scope } },
        manage.secret,
      ),
    ).deriveKey.key.id;
  const own = await createKey(a, acct.secret, { name: 'by-master', type: 'PRODUCTION', scope: { kind: 'SINGLE_AGENT', agentId: agent.id } });
  const sub = await derive('by-manager', { kind: 'SINGLE_AGENT', agentId: agent.id });
  const subGroup = await derive('group-key', { kind: 'AGENT_GROUP', groupId: group.id });
  const subWorkflow = await derive('workflow-key', { kind: 'WORKFLOW', workflowIds: [workflow.id] });
  await createKey(a, acct.secret, { name: 'unscoped', type: 'PRODUCTION' });

  const LISTS = `{ agents(first: 10) { edges { node { keys(first: 10) { edges { node { id } } } } } }
    agentGroups(first: 10) { edges { node { keys(first: 10) { edges { node { id } } } } } }
    workflows(first: 10) { edges { node { keys(first: 10) { edges { node { id } } } } } } }`;
  const ids = (data: any, list: string) => data[list].edges.flatMap((e: any) => e.node.keys.edges.map((k: any) => k.node.id));
  const asMaster = ok(await a.gql(LISTS, {}, acct.secret));
  expect(ids(asMaster, 'agents')).toEqual([sub, own.key.id]); // newest first
  expect(ids(asMaster, 'agentGroups')).toEqual([subGroup]);
  expect(ids(asMaster, 'workflows')).toEqual([subWorkflow]);
  const asManager = ok(await a.gql(LISTS, {}, manage.secret));
  expect(ids(asManager, 'agents')).toEqual([sub]);
  const filtered = ok(await a.gql(`{ agents(first: 1) { edges { node { keys(first: 10, filter: { search: "by-master" }) { edges { node { id } } } } } } }`, {}, acct.secret));
  expect(ids(filtered, 'agents')).toEqual([own.key.id]);
  const asOther = ok(await a.gql(LISTS, {}, other.secret));
  expect([ids(asOther, 'agents'), ids(asOther, 'agentGroups'), ids(asOther, 'workflows')]).toEqual([[], [], []]);
});
