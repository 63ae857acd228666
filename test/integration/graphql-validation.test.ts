import { clock } from '../../src/infra/clock';
import { startHarness, type Harness } from '../helpers/harness';
import { GET_KEY, UPDATE_KEY, accountCounts, createAgent, createGroup, createKey, createWorkflow, expectError, ok } from '../helpers/gql-fixtures';

// Bad input answers BAD_USER_INPUT with `extensions.field` naming the input path (and the message
// naming it too), and writes nothing: no row, no audit event, no move of the audit chain head.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
let agent: any;
let group: any;
let workflow: any;
let devKey: { secret: string; key: any };
let emergencyKey: { secret: string; key: any };

const UNKNOWN_ID = '5b0f7a4e-0c1d-4e0a-9a51-3f2f4c8f1e77';

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('validation');
  agent = await createAgent(h, acct.secret, { name: 'existing-agent' });
  group = await createGroup(h, acct.secret, { name: 'existing-group', agentIds: [agent.id] });
  workflow = await createWorkflow(h, acct.secret, { name: 'existing-workflow', agentIds: [agent.id] });
  devKey = await createKey(h, acct.secret, { name: 'dev-key', type: 'DEVELOPMENT' });
  emergencyKey = await createKey(h, acct.secret, { name: 'break-glass', type: 'EMERGENCY', ipAllowlist: ['203.0.113.7'] });
});
afterAll(() => h.close());

/** Runs `send`, expects BAD_USER_INPUT (or `code`) on `field`, and proves nothing was written. */
async function expectRejectedWithoutWrites(send: () => Promise<any>, code: string, field?: string) {
  const before = await accountCounts(h, acct.accountId);
  const keyRows = await h.db.prisma.apiKey.findMany({ where: { accountId: acct.accountId }, orderBy: { id: 'asc' } });
  const res = await send();
  const err = expectError(res, code, field);
  expect(await accountCounts(h, acct.accountId)).toEqual(before);
  expect(await h.db.prisma.apiKey.findMany({ where: { accountId: acct.accountId }, orderBy: { id: 'asc' } })).toEqual(keyRows);
  return err;
}

const createKeyMutation = (input: Record<string, unknown>) =>
  h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'k', type: 'DEVELOPMENT', ...input } }, acct.secret);

const past = () => new Date(clock.nowMs() - 60_000).toISOString();
const future = (days: number) => new Date(clock.nowMs() + days * 86_400_000).toISOString();
const window = (over: Record<string, unknown>) => ({ days: ['MON'], start: '09:00', end: '17:00', timeZone: 'Europe/Berlin', ...over });

// [what, input overrides, field]
const badKeySettings: [string, Record<string, unknown>, string][] = [
  ['an empty name', { name: '' }, 'input.name'],
  ['a whitespace-only name', { name: ' \t  ' }, 'input.name'],
  ['a name over 200 characters', { name: 'n'.repeat(201) }, 'input.name'],
  ['an invalid IPv4 address', { ipAllowlist: ['300.1.1.1'] }, 'input.ipAllowlist[0]'],
  ['a word in the IP allowlist', { ipAllowlist: ['203.0.113.7', 'localhost:80'] }, 'input.ipAllowlist[1]'],
  ['an empty IP allowlist entry', { ipAllowlist: [' '] }, 'input.ipAllowlist[0]'],
  ['an IPv4 CIDR with a prefix over 32', { ipAllowlist: ['10.0.0.0/33'] }, 'input.ipAllowlist[0]'],
  ['an IPv6 CIDR with a prefix over 128', { ipAllowlist: ['2001:db8::/129'] }, 'input.ipAllowlist[0]'],
  ['a CIDR without a prefix length', { ipAllowlist: ['10.0.0.0/'] }, 'input.ipAllowlist[0]'],
  ['a CIDR without an address', { ipAllowlist: ['/24'] }, 'input.ipAllowlist[0]'],
  ['a CIDR over a non-address', { ipAllowlist: ['10.0.0/8'] }, 'input.ipAllowlist[0]'],
  ['rateLimits with limit 0', { rateLimits: [{ window: 'MINUTE', limit: 0 }] }, 'input.rateLimits[0].limit'],
  [
    'rateLimits with a negative limit',
    {
      rateLimits: [
        { window: 'HOUR', limit: 10 },
        { window: 'DAY', limit: -5 },
      ],
    },
    'input.rateLimits[1].limit',
  ],
  [
    'rateLimits listing a window twice',
    {
      rateLimits: [
        { window: 'MINUTE', limit: 10 },
        { window: 'MINUTE', limit: 20 },
      ],
    },
    'input.rateLimits[1].window',
  ],
  ['a three-letter country', { allowedCountries: ['USA'] }, 'input.allowedCountries[0]'],
  ['an unassigned country code', { allowedCountries: ['DE', 'XX'] }, 'input.allowedCountries[1]'],
  ['a numeric country code', { allowedCountries: ['12'] }, 'input.allowedCountries[0]'],
  ['a made-up time zone', { accessWindows: [window({ timeZone: 'Mars/Olympus_Mons' })] }, 'input.accessWindows[0].timeZone'],
  ['a time of day past 23:59', { accessWindows: [window({}), window({ start: '25:00' })] }, 'input.accessWindows[1].start'],
  ['an access window without days', { accessWindows: [window({ days: [] })] }, 'input.accessWindows[0].days'],
  ['a quota of 0 units', { quota: { units: 0, period: 'DAY' } }, 'input.quota.units'],
  ['maxConcurrent 0', { maxConcurrent: 0 }, 'input.maxConcurrent'],
  ['rotationPeriodDays 0', { rotationPeriodDays: 0 }, 'input.rotationPeriodDays'],
  ['metadata that is not an object', { metadata: [1, 2, 3] }, 'input.metadata'],
  ['an unknown agent in the scope', { scope: { kind: 'SINGLE_AGENT', agentId: UNKNOWN_ID } }, 'input.scope.agentId'],
  ['an agent id that is not a UUID', { scope: { kind: 'SINGLE_AGENT', agentId: 'agent-1' } }, 'input.scope.agentId'],
  ['an unknown group in the scope', { scope: { kind: 'AGENT_GROUP', groupId: UNKNOWN_ID } }, 'input.scope.groupId'],
  ['an unknown workflow in the scope', { scope: { kind: 'WORKFLOW', workflowIds: [UNKNOWN_ID] } }, 'input.scope.workflowIds[0]'],
  ['SINGLE_AGENT without agentId', { scope: { kind: 'SINGLE_AGENT' } }, 'input.scope.agentId'],
  ['AGENT_GROUP without groupId', { scope: { kind: 'AGENT_GROUP' } }, 'input.scope.groupId'],
  ['WORKFLOW with empty workflowIds', { scope: { kind: 'WORKFLOW', workflowIds: [] } }, 'input.scope.workflowIds'],
  ['WORKFLOW without workflowIds', { scope: { kind: 'WORKFLOW' } }, 'input.scope.workflowIds'],
];

describe('createKey', () => {
  test.each(badKeySettings)('with %s is BAD_USER_INPUT naming the field, and writes nothing', async (_what, input, field) => {
    await expectRejectedWithoutWrites(() => createKeyMutation(input), 'BAD_USER_INPUT', field);
  });

  test('with an unknown workflow after a known one names the unknown one', async () => {
    await expectRejectedWithoutWrites(() => createKeyMutation({ scope: { kind: 'WORKFLOW', workflowIds: [workflow.id, UNKNOWN_ID] } }), 'BAD_USER_INPUT', 'input.scope.workflowIds[1]');
  });

  test('with a scope mixing kinds (SINGLE_AGENT plus groupId) is BAD_USER_INPUT on the scope', async () => {
    await expectRejectedWithoutWrites(() => createKeyMutation({ scope: { kind: 'SINGLE_AGENT', agentId: agent.id, groupId: group.id } }), 'BAD_USER_INPUT', 'input.scope');
  });

  test('with expiresAt in the past is BAD_USER_INPUT on input.expiresAt', async () => {
    await expectRejectedWithoutWrites(() => createKeyMutation({ expiresAt: past() }), 'BAD_USER_INPUT', 'input.expiresAt');
  });

  test('with expiresAt exactly now (not in the future) is BAD_USER_INPUT', async () => {
    // The request takes a moment, so "now" as sent is already past when it arrives.
    await expectRejectedWithoutWrites(() => createKeyMutation({ expiresAt: new Date(clock.nowMs()).toISOString() }), 'BAD_USER_INPUT', 'input.expiresAt');
  });

  test('with both expiresIn and expiresAt is BAD_USER_INPUT naming them', async () => {
    const err = await expectRejectedWithoutWrites(() => createKeyMutation({ expiresIn: 'DAYS_30', expiresAt: future(10) }), 'BAD_USER_INPUT');
    expect(['input.expiresAt', 'input.expiresIn']).toContain(err.extensions?.field);
    expect(err.message).toContain('expiresIn');
    expect(err.message).toContain('expiresAt');
  });

  test('of an EMERGENCY key without ipAllowlist is BAD_USER_INPUT on input.ipAllowlist', async () => {
    await expectRejectedWithoutWrites(() => createKeyMutation({ type: 'EMERGENCY' }), 'BAD_USER_INPUT', 'input.ipAllowlist');
    await expectRejectedWithoutWrites(() => createKeyMutation({ type: 'EMERGENCY', ipAllowlist: [] }), 'BAD_USER_INPUT', 'input.ipAllowlist');
  });

  test('accepts the valid forms that sit next to the rejected ones', async () => {
    // Control: the same shapes with good values are taken (so the rejections above are about the values).
    const { key } = await createKey(h, acct.secret, {
      name: '  trimmed name  ',
      type: 'EMERGENCY',
      ipAllowlist: ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32'],
      rateLimits: [{ window: 'MINUTE', limit: 1 }],
      allowedCountries: ['de', 'US'],
      accessWindows: [window({})],
      scope: { kind: 'WORKFLOW', workflowIds: [workflow.id] },
      expiresAt: future(3),
    });
    expect(key).toMatchObject({
      name: 'trimmed name',
      ipAllowlist: ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32'],
      rateLimits: [{ window: 'MINUTE', limit: 1 }],
      allowedCountries: ['DE', 'US'],
      accessWindows: [{ days: ['MON'], start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' }],
      scope: { kind: 'WORKFLOW', workflows: [{ id: workflow.id, name: 'existing-workflow' }] },
    });
  });
});

describe('updateKey', () => {
  async function expectKeyUnchanged(id: string, send: () => Promise<any>, code: string, field?: string) {
    const before = ok(await h.gql(GET_KEY, { id }, acct.secret)).key;
    const err = await expectRejectedWithoutWrites(send, code, field);
    expect(ok(await h.gql(GET_KEY, { id }, acct.secret)).key).toEqual(before);
    return err;
  }

  const updateCases = badKeySettings.filter(([, input]) => !('type' in input));

  test.each(updateCases)('with %s is BAD_USER_INPUT naming the field, and the key is unchanged', async (_what, input, field) => {
    await expectKeyUnchanged(devKey.key.id, () => h.gql(UPDATE_KEY, { id: devKey.key.id, input }, acct.secret), 'BAD_USER_INPUT', field);
  });

  test('with expiresAt in the past is BAD_USER_INPUT on input.expiresAt', async () => {
    await expectKeyUnchanged(devKey.key.id, () => h.gql(UPDATE_KEY, { id: devKey.key.id, input: { expiresAt: past() } }, acct.secret), 'BAD_USER_INPUT', 'input.expiresAt');
  });

  test('emptying the ipAllowlist of an EMERGENCY key is BAD_USER_INPUT on input.ipAllowlist', async () => {
    await expectKeyUnchanged(emergencyKey.key.id, () => h.gql(UPDATE_KEY, { id: emergencyKey.key.id, input: { ipAllowlist: [] } }, acct.secret), 'BAD_USER_INPUT', 'input.ipAllowlist');
  });

  test('changing the permission of the master key is BAD_USER_INPUT on input.permission', async () => {
    await expectKeyUnchanged(acct.keyId, () => h.gql(UPDATE_KEY, { id: acct.keyId, input: { permission: 'READ_ONLY' } }, acct.secret), 'BAD_USER_INPUT', 'input.permission');
  });

  test('a good value next to a bad one is not applied either', async () => {
    await expectKeyUnchanged(devKey.key.id, () => h.gql(UPDATE_KEY, { id: devKey.key.id, input: { name: 'would-be-renamed', allowedCountries: ['ZZ'] } }, acct.secret), 'BAD_USER_INPUT', 'input.allowedCountries[0]');
  });
});

describe('createAgent', () => {
  const send = (input: Record<string, unknown>) => h.gql(`mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`, { input }, acct.secret);

  test.each([
    ['an empty name', { name: '' }, 'input.name'],
    ['a whitespace-only name', { name: '   ' }, 'input.name'],
    ['an ftp upstreamUrl', { name: 'a1', upstreamUrl: 'ftp://x' }, 'input.upstreamUrl'],
    ['an upstreamUrl that is not a URL', { name: 'a2', upstreamUrl: 'not a url' }, 'input.upstreamUrl'],
    ['an upstreamUrl carrying credentials', { name: 'a3', upstreamUrl: 'https://user:pw@agent.example.com/' }, 'input.upstreamUrl'],
    ['a javascript: upstreamUrl', { name: 'a4', upstreamUrl: 'javascript:alert(1)' }, 'input.upstreamUrl'],
  ])('with %s is BAD_USER_INPUT naming the field, and writes nothing', async (_what, input, field) => {
    await expectRejectedWithoutWrites(() => send(input), 'BAD_USER_INPUT', field);
  });

  test('with the name of an existing agent is CONFLICT, and writes nothing', async () => {
    await expectRejectedWithoutWrites(() => send({ name: 'existing-agent' }), 'CONFLICT');
    await expectRejectedWithoutWrites(() => send({ name: '  existing-agent ' }), 'CONFLICT');
  });
});

describe('createAgentGroup', () => {
  const send = (input: Record<string, unknown>) => h.gql(`mutation($input: CreateAgentGroupInput!) { createAgentGroup(input: $input) { id } }`, { input }, acct.secret);

  test.each([
    ['an empty name', { name: '', agentIds: [] }, 'input.name'],
    ['a whitespace-only name', { name: ' ', agentIds: [] }, 'input.name'],
    ['an unknown agent id', { name: 'g1', agentIds: [UNKNOWN_ID] }, 'input.agentIds[0]'],
    ['an unknown agent id after a known one', { name: 'g2', agentIds: [null, UNKNOWN_ID] }, 'input.agentIds[1]'],
    ['an agent id that is not a UUID', { name: 'g3', agentIds: ['agent-1'] }, 'input.agentIds[0]'],
  ])('with %s is BAD_USER_INPUT naming the field, and writes nothing', async (_what, input, field) => {
    const ids = (input.agentIds as (string | null)[]).map((id) => id ?? agent.id);
    await expectRejectedWithoutWrites(() => send({ ...input, agentIds: ids }), 'BAD_USER_INPUT', field);
  });

  test('with the name of an existing group is CONFLICT, and writes nothing', async () => {
    await expectRejectedWithoutWrites(() => send({ name: 'existing-group', agentIds: [agent.id] }), 'CONFLICT');
  });
});

describe('createWorkflow', () => {
  const send = (input: Record<string, unknown>) => h.gql(`mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`, { input }, acct.secret);

  test.each([
    ['an empty name', { name: '' }, 'input.name'],
    ['a whitespace-only name', { name: '\n ' }, 'input.name'],
    ['an ftp upstreamUrl', { name: 'w1', upstreamUrl: 'ftp://x' }, 'input.upstreamUrl'],
    ['an upstreamUrl that is not a URL', { name: 'w2', upstreamUrl: 'not a url' }, 'input.upstreamUrl'],
    ['an unknown agent id', { name: 'w3', agentIds: [UNKNOWN_ID] }, 'input.agentIds[0]'],
  ])('with %s is BAD_USER_INPUT naming the field, and writes nothing', async (_what, input, field) => {
    await expectRejectedWithoutWrites(() => send(input), 'BAD_USER_INPUT', field);
  });

  test('with the name of an existing workflow is CONFLICT, and writes nothing', async () => {
    await expectRejectedWithoutWrites(() => send({ name: 'existing-workflow' }), 'CONFLICT');
  });
});
