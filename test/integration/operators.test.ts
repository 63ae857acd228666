import { startHarness, type Harness } from '../helpers/harness';
import { accountCounts, createKey, expectError, ok } from '../helpers/gql-fixtures';
import { OWN_ORIGIN, signedInOperator, type SignedIn } from '../helpers/operators';

// README, People and single sign-on: operators of one account with a role each. OWNER manages
// people; ADMIN administers everything else; AUDITOR reads everything and writes nothing. A master
// key can do what an OWNER can. Sessions are cookies that need Keywarden's own Origin.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
let other: Awaited<ReturnType<Harness['newAccount']>>;
let owner: SignedIn;
let admin: SignedIn;
let auditor: SignedIn;

const OPERATOR = 'id email name role disabled createdAt lastSignInAt';
const OPERATORS = `{ operators { ${OPERATOR} } }`;
const INVITE = `mutation($input: InviteOperatorInput!) { inviteOperator(input: $input) { ${OPERATOR} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateOperatorInput!) { updateOperator(id: $id, input: $input) { ${OPERATOR} } }`;
const REMOVE = `mutation($id: ID!) { removeOperator(id: $id) }`;
const VIEWER = `{ viewer { key { id } operator { id email role } account { id } } }`;
const CREATE_AGENT = `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`;
const CREATE_KEY = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`;
const REVOKE = `mutation($id: ID!) { revokeKey(id: $id) { id status } }`;
const AUDIT = `query($filter: AuditFilter) { auditEvents(first: 50, filter: $filter) { edges { node { action actor { id } actorOperator { id email } targetId } } } }`;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('people');
  other = await h.newAccount('people-other');
  owner = await signedInOperator(h, acct.accountId, 'OWNER');
  admin = await signedInOperator(h, acct.accountId, 'ADMIN');
  auditor = await signedInOperator(h, acct.accountId, 'AUDITOR');
});
afterAll(() => h.close());

const uniqueEmail = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}@example.test`;

test('a master key invites an operator; the list and the viewer show them; viewer.key is null for a person', async () => {
  const email = uniqueEmail('Invitee').toUpperCase();
  const invited = ok(await h.gql(INVITE, { input: { email, role: 'ADMIN' } }, acct.secret)).inviteOperator;
  expect(invited).toMatchObject({ email: email.toLowerCase(), role: 'ADMIN', disabled: false, lastSignInAt: null, name: null });
  const list = ok(await auditor.gql(OPERATORS)).operators.map((o: any) => o.id);
  expect(list).toEqual(expect.arrayContaining([owner.id, admin.id, auditor.id, invited.id]));
  const viewer = ok(await admin.gql(VIEWER)).viewer;
  expect(viewer).toEqual({ key: null, operator: { id: admin.id, email: admin.email, role: 'ADMIN' }, account: { id: acct.accountId } });
  expect(ok(await h.gql(VIEWER, {}, acct.secret)).viewer.operator).toBeNull();
});

describe('roles decide every mutation', () => {
  // role x mutation -> allowed (true) or FORBIDDEN (false)
  const table: [string, (who: SignedIn) => Promise<any>, Record<'OWNER' | 'ADMIN' | 'AUDITOR', boolean>][] = [
    ['createAgent', (who) => who.gql(CREATE_AGENT, { input: { name: `agent-${Math.random()}` } }), { OWNER: true, ADMIN: true, AUDITOR: false }],
    ['createKey', (who) => who.gql(CREATE_KEY, { input: { name: 'k', type: 'DEVELOPMENT' } }), { OWNER: true, ADMIN: true, AUDITOR: false }],
    ['revokeKey', async (who) => who.gql(REVOKE, { id: (await createKey(h, acct.secret, { name: 'to-revoke', type: 'DEVELOPMENT' })).key.id }), { OWNER: true, ADMIN: true, AUDITOR: false }],
    ['inviteOperator', (who) => who.gql(INVITE, { input: { email: uniqueEmail('x'), role: 'AUDITOR' } }), { OWNER: true, ADMIN: false, AUDITOR: false }],
    ['updateOperator', async (who) => who.gql(UPDATE, { id: (await signedInOperator(h, acct.accountId, 'AUDITOR')).id, input: { role: 'ADMIN' } }), { OWNER: true, ADMIN: false, AUDITOR: false }],
    ['removeOperator', async (who) => who.gql(REMOVE, { id: (await signedInOperator(h, acct.accountId, 'AUDITOR')).id }), { OWNER: true, ADMIN: false, AUDITOR: false }],
  ];
  const cases = table.flatMap(([name, run, allowed]) => (['OWNER', 'ADMIN', 'AUDITOR'] as const).map((role) => [name, role, allowed[role], run] as const));
  test.each(cases)('%s as %s: allowed=%s', async (_name, role, allowed, run) => {
    const who = { OWNER: owner, ADMIN: admin, AUDITOR: auditor }[role];
    const before = await accountCounts(h, acct.accountId);
    const res = await run(who);
    if (allowed) {
      ok(res);
    } else {
      expectError(res, 'FORBIDDEN');
      const after = await accountCounts(h, acct.accountId);
      expect(after.audit).toBe(before.audit + (res.errors && _name === 'revokeKey' ? 1 : 0));
    }
  });

  test('an AUDITOR reads keys, audit, operators and reports', async () => {
    ok(await auditor.gql(`{ keys(first: 5) { edges { node { id } } } auditEvents(first: 5) { edges { node { id } } } operators { id } verifyAuditChain { valid } }`));
  });
});

describe('no escalation', () => {
  test('an ADMIN cannot make itself OWNER, nor invite an OWNER', async () => {
    expectError(await admin.gql(UPDATE, { id: admin.id, input: { role: 'OWNER' } }), 'FORBIDDEN');
    expectError(await admin.gql(INVITE, { input: { email: uniqueEmail('boss'), role: 'OWNER' } }), 'FORBIDDEN');
    const row = await h.db.prisma.operator.findUniqueOrThrow({ where: { id: admin.id } });
    expect(row.role).toBe('ADMIN');
  });

  test('a MANAGE key (not a master key) cannot manage operators', async () => {
    const manager = await createKey(h, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
    expectError(await h.gql(INVITE, { input: { email: uniqueEmail('m'), role: 'AUDITOR' } }, manager.secret), 'FORBIDDEN');
    expectError(await h.gql(OPERATORS, {}, manager.secret), 'FORBIDDEN');
  });

  test('the last OWNER cannot be demoted, disabled or removed; with a second OWNER they can', async () => {
    const acct2 = await h.newAccount('last-owner');
    const only = await signedInOperator(h, acct2.accountId, 'OWNER');
    const before = await accountCounts(h, acct2.accountId);
    expectError(await only.gql(UPDATE, { id: only.id, input: { role: 'ADMIN' } }), 'CONFLICT');
    expectError(await h.gql(UPDATE, { id: only.id, input: { disabled: true } }, acct2.secret), 'CONFLICT');
    expectError(await h.gql(REMOVE, { id: only.id }, acct2.secret), 'CONFLICT');
    expect(await accountCounts(h, acct2.accountId)).toEqual(before);
    const second = ok(await only.gql(INVITE, { input: { email: uniqueEmail('second'), role: 'OWNER' } })).inviteOperator;
    expect(ok(await only.gql(UPDATE, { id: only.id, input: { role: 'ADMIN' } })).updateOperator.role).toBe('ADMIN');
    expectError(await h.gql(REMOVE, { id: second.id }, acct2.secret), 'CONFLICT');
  });
});

describe('bad input writes nothing', () => {
  test('inviting an email twice (any case) is a CONFLICT; a bad email or role is refused', async () => {
    const email = uniqueEmail('twice');
    ok(await owner.gql(INVITE, { input: { email, role: 'AUDITOR' } }));
    const before = await accountCounts(h, acct.accountId);
    expectError(await owner.gql(INVITE, { input: { email: email.toUpperCase(), role: 'ADMIN' } }), 'CONFLICT', 'input.email');
    expectError(await owner.gql(INVITE, { input: { email: 'not-an-email', role: 'ADMIN' } }), 'BAD_USER_INPUT', 'input.email');
    const badRole = await owner.gql(INVITE, { input: { email: uniqueEmail('role'), role: 'ROOT' } });
    expect(badRole.errors?.[0].message).toMatch(/ROOT/);
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
  });
});

describe('two accounts', () => {
  test("an account sees and changes only its own operators: another account's id answers NOT_FOUND", async () => {
    const stranger = await signedInOperator(h, other.accountId, 'OWNER');
    const theirs = ok(await stranger.gql(OPERATORS)).operators.map((o: any) => o.id);
    expect(theirs).toEqual([stranger.id]);
    expectError(await stranger.gql(UPDATE, { id: admin.id, input: { disabled: true } }), 'NOT_FOUND');
    expectError(await h.gql(REMOVE, { id: admin.id }, other.secret), 'NOT_FOUND');
    expect((await h.db.prisma.operator.findUniqueOrThrow({ where: { id: admin.id } })).disabled).toBe(false);
  });
});

describe('sessions', () => {
  test('disabling an operator ends their sessions at once; removing one too', async () => {
    const person = await signedInOperator(h, acct.accountId, 'ADMIN');
    ok(await person.gql(VIEWER));
    ok(await owner.gql(UPDATE, { id: person.id, input: { disabled: true } }));
    expectError(await person.gql(VIEWER), 'UNAUTHENTICATED');
    expect(await h.db.prisma.operatorSession.count({ where: { operatorId: person.id } })).toBe(0);
    const gone = await signedInOperator(h, acct.accountId, 'AUDITOR');
    ok(await gone.gql(VIEWER));
    ok(await owner.gql(REMOVE, { id: gone.id }));
    expectError(await gone.gql(VIEWER), 'UNAUTHENTICATED');
  });

  test('a cookie-authenticated request from another origin, or with none, is FORBIDDEN and changes nothing', async () => {
    const before = await accountCounts(h, acct.accountId);
    expectError(await owner.gql(CREATE_AGENT, { input: { name: 'csrf' } }, { origin: 'https://evil.example' }), 'FORBIDDEN');
    expectError(await h.gql(CREATE_AGENT, { input: { name: 'csrf2' } }, null, { cookie: owner.cookie }), 'FORBIDDEN');
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
    ok(await h.gql(VIEWER, {}, null, { cookie: owner.cookie, origin: OWN_ORIGIN }));
  });

  test('an unknown session token is UNAUTHENTICATED; a key in Authorization still wins over a cookie', async () => {
    expectError(await h.gql(VIEWER, {}, null, { cookie: 'kw_session=nope', origin: OWN_ORIGIN }), 'UNAUTHENTICATED');
    expect(ok(await h.gql(VIEWER, {}, acct.secret, { cookie: auditor.cookie, origin: OWN_ORIGIN })).viewer.key.id).toBe(acct.keyId);
  });
});

test('the audit log names the person who made each change, and the chain still verifies', async () => {
  const agent = ok(await admin.gql(CREATE_AGENT, { input: { name: 'by-admin' } })).createAgent;
  const invited = ok(await owner.gql(INVITE, { input: { email: uniqueEmail('audited'), role: 'AUDITOR' } })).inviteOperator;
  const events = ok(await auditor.gql(AUDIT)).auditEvents.edges.map((e: any) => e.node);
  expect(events.find((e: any) => e.targetId === agent.id)).toMatchObject({ action: 'agent.create', actor: null, actorOperator: { id: admin.id, email: admin.email } });
  expect(events.find((e: any) => e.targetId === invited.id)).toMatchObject({ action: 'operator.invite', actorOperator: { id: owner.id } });
  const byAdmin = ok(await auditor.gql(AUDIT, { filter: { actorOperatorId: admin.id } })).auditEvents.edges.map((e: any) => e.node.action);
  expect(byAdmin).toContain('agent.create');
  expect(ok(await auditor.gql(`{ verifyAuditChain { valid } }`)).verifyAuditChain.valid).toBe(true);
});
