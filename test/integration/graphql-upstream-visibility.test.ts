import { startHarness, type Harness } from '../helpers/harness';
import { CREATE_AGENT, CREATE_WORKFLOW, createKey, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: a key without admin rights reads `viewer` only, and there an agent's or
// workflow's upstreamUrl is null: it must not learn where to go around the gateway.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
let agent: any;
let workflow: any;

const AGENT_URL = 'https://93.184.216.34/agents/alpha';
const WORKFLOW_URL = 'https://93.184.216.34/workflows/beta';
const SCOPE = `{ viewer { key { scope { kind agent { id upstreamUrl groups { id } } workflows { id upstreamUrl agents { id upstreamUrl } } } } } }`;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('upstream');
  agent = ok(await h.gql(CREATE_AGENT, { input: { name: 'alpha', upstreamUrl: AGENT_URL } }, acct.secret)).createAgent;
  workflow = ok(await h.gql(CREATE_WORKFLOW, { input: { name: 'beta', upstreamUrl: WORKFLOW_URL, agentIds: [agent.id] } }, acct.secret)).createWorkflow;
});
afterAll(() => h.close());

test.each(['READ_ONLY', 'EXECUTE'])('a %s key scoped to an agent reads its upstreamUrl as null', async (permission) => {
  const k = await createKey(h, acct.secret, { name: `agent-${permission}`, type: 'DEVELOPMENT', permission, scope: { kind: 'SINGLE_AGENT', agentId: agent.id } });
  const scope = ok(await h.gql(SCOPE, {}, k.secret)).viewer.key.scope;
  expect(scope.agent).toEqual({ id: agent.id, upstreamUrl: null, groups: [] });
});

test('an EXECUTE key scoped to a workflow reads neither the workflow nor its agents upstreamUrl', async () => {
  const k = await createKey(h, acct.secret, { name: 'wf-exec', type: 'PRODUCTION', permission: 'EXECUTE', scope: { kind: 'WORKFLOW', workflowIds: [workflow.id] } });
  const scope = ok(await h.gql(SCOPE, {}, k.secret)).viewer.key.scope;
  expect(scope.workflows).toEqual([{ id: workflow.id, upstreamUrl: null, agents: [{ id: agent.id, upstreamUrl: null }] }]);
  expect(JSON.stringify(scope)).not.toContain('93.184.216.34');
});

test('a MANAGE key and the master key read it', async () => {
  const k = await createKey(h, acct.secret, { name: 'mgr', type: 'DEVELOPMENT', permission: 'MANAGE', scope: { kind: 'WORKFLOW', workflowIds: [workflow.id] } });
  const scope = ok(await h.gql(SCOPE, {}, k.secret)).viewer.key.scope;
  expect(scope.workflows[0].upstreamUrl).toBe(WORKFLOW_URL);
  expect(scope.workflows[0].agents[0].upstreamUrl).toBe(AGENT_URL);
  const listed = ok(await h.gql('{ agents(first: 10) { edges { node { upstreamUrl } } } }', {}, acct.secret));
  expect(listed.agents.edges[0].node.upstreamUrl).toBe(AGENT_URL);
});
