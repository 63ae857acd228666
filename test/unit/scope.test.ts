import { scopeAllows, type ScopeRule, type ScopeTarget } from '../../src/access/scope';

const ACCOUNT = 'acc-1';
const OTHER = 'acc-2';
const AGENT_A = '11111111-1111-4111-8111-111111111111';
const AGENT_B = '22222222-2222-4222-8222-222222222222';
const AGENT_C = '33333333-3333-4333-8333-333333333333';
const FLOW_1 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const FLOW_2 = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

const all: ScopeRule = { kind: 'ALL_AGENTS' };
const single: ScopeRule = { kind: 'SINGLE_AGENT', agentId: AGENT_A };
const group: ScopeRule = { kind: 'AGENT_GROUP', agentIds: new Set([AGENT_A, AGENT_B]) };
const emptyGroup: ScopeRule = { kind: 'AGENT_GROUP', agentIds: new Set() };
// Workflow FLOW_1 runs agents A and C.
const workflow: ScopeRule = { kind: 'WORKFLOW', workflowIds: new Set([FLOW_1]), agentIds: new Set([AGENT_A, AGENT_C]) };

const agent = (agentId: string, targetAccountId: string | undefined = ACCOUNT): ScopeTarget => ({ agentId, targetAccountId });
const flow = (workflowId: string, targetAccountId: string | undefined = ACCOUNT): ScopeTarget => ({ workflowId, targetAccountId });

describe('scopeAllows', () => {
  test.each<[string, ScopeRule, ScopeTarget, boolean]>([
    // No target named: nothing to restrict.
    ['ALL_AGENTS with no target', all, {}, true],
    ['SINGLE_AGENT with no target', single, {}, true],
    ['AGENT_GROUP with no target', group, {}, true],
    ['WORKFLOW with no target', workflow, {}, true],

    ['ALL_AGENTS reaches an agent of its account', all, agent(AGENT_B), true],
    ['ALL_AGENTS reaches a workflow of its account', all, flow(FLOW_2), true],
    ['ALL_AGENTS does not reach an agent of another account', all, agent(AGENT_B, OTHER), false],
    ['ALL_AGENTS does not reach a workflow of another account', all, flow(FLOW_1, OTHER), false],
    ['ALL_AGENTS does not reach an agent that does not exist', all, { agentId: AGENT_B, targetAccountId: undefined }, false],

    ['SINGLE_AGENT reaches its agent', single, agent(AGENT_A), true],
    ['SINGLE_AGENT does not reach another agent', single, agent(AGENT_B), false],
    ['SINGLE_AGENT does not reach its agent id in another account', single, agent(AGENT_A, OTHER), false],
    ['SINGLE_AGENT does not reach a workflow', single, flow(FLOW_1), false],
    ['SINGLE_AGENT does not reach its agent through a workflow', single, { agentId: AGENT_A, workflowId: FLOW_1, targetAccountId: ACCOUNT }, false],

    ['AGENT_GROUP reaches a member', group, agent(AGENT_B), true],
    ['AGENT_GROUP does not reach a non-member', group, agent(AGENT_C), false],
    ['AGENT_GROUP does not reach a member id in another account', group, agent(AGENT_A, OTHER), false],
    ['AGENT_GROUP does not reach a workflow', group, flow(FLOW_1), false],
    ['AGENT_GROUP with no members reaches nothing', emptyGroup, agent(AGENT_A), false],

    ['WORKFLOW reaches its workflow', workflow, flow(FLOW_1), true],
    ['WORKFLOW does not reach another workflow', workflow, flow(FLOW_2), false],
    ['WORKFLOW does not reach its workflow id in another account', workflow, flow(FLOW_1, OTHER), false],
    ['WORKFLOW reaches an agent of its workflow', workflow, agent(AGENT_C), true],
    ['WORKFLOW does not reach an agent outside its workflows', workflow, agent(AGENT_B), false],
    ['WORKFLOW does not reach an agent of its workflow in another account', workflow, agent(AGENT_C, OTHER), false],
    ['SINGLE_AGENT does not reach its agent id when the agent does not exist', single, { agentId: AGENT_A }, false],
    ['WORKFLOW with no workflows reaches nothing', { kind: 'WORKFLOW' }, flow(FLOW_1), false],
  ])('%s', (_label, rule, target, expected) => {
    expect(scopeAllows(rule, ACCOUNT, target)).toBe(expected);
  });

  test('an unknown scope kind reaches nothing', () => {
    expect(scopeAllows({ kind: 'EVERYTHING' as never }, ACCOUNT, agent(AGENT_A))).toBe(false);
  });
});
