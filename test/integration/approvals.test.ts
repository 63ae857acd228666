import { runScan } from '../../workers/scheduled';
import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok } from '../helpers/gql-fixtures';
import { signedInOperator, type SignedIn } from '../helpers/operators';

// README, People and single sign-on (approvals): the two-person rule. While the policy covers a key,
// the direct mutations answer APPROVAL_REQUIRED; requestKey -> approveKeyRequest (people other
// than the requester) -> claimKeyRequest (the requester, once: the secret is minted then).

let h: Harness;

const POLICY = `{ approvalPolicy { requireFor approvals } }`;
const SET_POLICY = `mutation($input: SetApprovalPolicyInput!) { setApprovalPolicy(input: $input) { requireFor approvals } }`;
const REQUEST_FIELDS = `id status input justification parent { id } requestedBy { id } requestedByKey { id } approvals { operator { id } at } rejectedBy { id } reason key { id permission } createdAt expiresAt`;
const REQUEST = `mutation($input: CreateKeyInput!, $parentId: ID, $justification: String!) { requestKey(input: $input, parentId: $parentId, justification: $justification) { ${REQUEST_FIELDS} } }`;
const APPROVE = `mutation($id: ID!) { approveKeyRequest(id: $id) { ${REQUEST_FIELDS} } }`;
const REJECT = `mutation($id: ID!, $reason: String!) { rejectKeyRequest(id: $id, reason: $reason) { ${REQUEST_FIELDS} } }`;
const CLAIM = `mutation($id: ID!) { claimKeyRequest(id: $id) { secret key { id permission type } } }`;
const LIST = `query($status: KeyRequestStatus) { keyRequests(first: 50, status: $status) { edges { node { id status } } } }`;
const CREATE_KEY = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`;
const UPDATE_KEY = `mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id permission } }`;
const DERIVE_KEY = `mutation($parentId: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $parentId, input: $input) { secret key { id } } }`;
const ROTATE_KEY = `mutation($id: ID!) { rotateKey(id: $id) { secret key { id } } }`;

interface Team {
  acct: Awaited<ReturnType<Harness['newAccount']>>;
  owner: SignedIn;
  owner2: SignedIn;
  admin: SignedIn;
  auditor: SignedIn;
}

async function team(label: string, policy?: { requireFor: string[]; approvals: number }): Promise<Team> {
  const acct = await h.newAccount(label);
  const t = {
    acct,
    owner: await signedInOperator(h, acct.accountId, 'OWNER'),
    owner2: await signedInOperator(h, acct.accountId, 'OWNER'),
    admin: await signedInOperator(h, acct.accountId, 'ADMIN'),
    auditor: await signedInOperator(h, acct.accountId, 'AUDITOR'),
  };
  if (policy) ok(await t.owner.gql(SET_POLICY, { input: policy }));
  return t;
}

const counts = async (accountId: string) => ({
  keys: await h.db.prisma.apiKey.count({ where: { accountId } }),
  requests: await h.db.prisma.keyRequest.count({ where: { accountId } }),
  audit: await h.db.prisma.auditEvent.count({ where: { accountId } }),
});

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('the policy: default none; only an OWNER or a master key sets it; bad values are refused', async () => {
  const t = await team('policy');
  expect(ok(await t.auditor.gql(POLICY)).approvalPolicy).toEqual({ requireFor: [], approvals: 1 });
  const input = { requireFor: ['HIGH_PRIVILEGE', 'EMERGENCY'], approvals: 2 };
  expectError(await t.admin.gql(SET_POLICY, { input }), 'FORBIDDEN');
  expectError(await t.auditor.gql(SET_POLICY, { input }), 'FORBIDDEN');
  expectError(await t.owner.gql(SET_POLICY, { input: { ...input, approvals: 0 } }), 'BAD_USER_INPUT', 'input.approvals');
  expect(ok(await t.owner.gql(SET_POLICY, { input })).setApprovalPolicy).toEqual(input);
  expect(ok(await h.gql(SET_POLICY, { input: { requireFor: ['ANY'], approvals: 1 } }, t.acct.secret)).setApprovalPolicy.requireFor).toEqual(['ANY']);
  const audit = await h.db.prisma.auditEvent.findFirst({ where: { accountId: t.acct.accountId, action: 'approval_policy.set', actorOperatorId: t.owner.id } });
  expect(audit).not.toBeNull();
});

test('while the policy covers a key, createKey, deriveKey, rotateKey and updateKey answer APPROVAL_REQUIRED and write nothing', async () => {
  const t = await team('gate');
  const existing = await createKey(h, t.acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  const low = await createKey(h, t.acct.secret, { name: 'reader', type: 'PRODUCTION', permission: 'READ_ONLY' });
  ok(await t.owner.gql(SET_POLICY, { input: { requireFor: ['HIGH_PRIVILEGE'], approvals: 1 } }));
  const before = await counts(t.acct.accountId);
  expectError(await t.admin.gql(CREATE_KEY, { input: { name: 'big', type: 'PRODUCTION', permission: 'FULL_ACCESS' } }), 'APPROVAL_REQUIRED');
  expectError(await h.gql(CREATE_KEY, { input: { name: 'big', type: 'PRODUCTION', permission: 'MANAGE' } }, t.acct.secret), 'APPROVAL_REQUIRED');
  expectError(await t.admin.gql(DERIVE_KEY, { parentId: existing.key.id, input: { name: 'child', type: 'PRODUCTION', permission: 'MANAGE' } }), 'APPROVAL_REQUIRED');
  expectError(await t.admin.gql(ROTATE_KEY, { id: existing.key.id }), 'APPROVAL_REQUIRED');
  expectError(await t.admin.gql(UPDATE_KEY, { id: low.key.id, input: { permission: 'FULL_ACCESS' } }), 'APPROVAL_REQUIRED');
  expect(await counts(t.acct.accountId)).toEqual(before);
  // Keys outside the policy, and changes that do not raise a key into it, go on as before.
  ok(await t.admin.gql(CREATE_KEY, { input: { name: 'small', type: 'PRODUCTION', permission: 'EXECUTE' } }));
  ok(await t.admin.gql(UPDATE_KEY, { id: existing.key.id, input: { permission: 'FULL_ACCESS' } }));
  ok(await t.admin.gql(ROTATE_KEY, { id: low.key.id }));
});

test('request -> approve by another person -> claim once: the secret exists only from the claim; webhooks and audit name the people', async () => {
  const t = await team('flow', { requireFor: ['HIGH_PRIVILEGE'], approvals: 1 });
  const before = await counts(t.acct.accountId);
  const input = { name: 'deploy-bot', type: 'PRODUCTION', permission: 'FULL_ACCESS' };
  const req = ok(await t.admin.gql(REQUEST, { input, justification: 'nightly deploys need it' })).requestKey;
  expect(req).toMatchObject({ status: 'PENDING', justification: 'nightly deploys need it', requestedBy: { id: t.admin.id }, requestedByKey: null, approvals: [], key: null });
  expect(await h.db.prisma.apiKey.count({ where: { accountId: t.acct.accountId } })).toBe(before.keys);

  expectError(await t.admin.gql(APPROVE, { id: req.id }), 'FORBIDDEN');
  expectError(await t.auditor.gql(APPROVE, { id: req.id }), 'FORBIDDEN');
  expectError(await h.gql(APPROVE, { id: req.id }, t.acct.secret), 'FORBIDDEN');
  expectError(await t.admin.gql(CLAIM, { id: req.id }), 'CONFLICT');

  const approved = ok(await t.owner.gql(APPROVE, { id: req.id })).approveKeyRequest;
  expect(approved).toMatchObject({ status: 'APPROVED', approvals: [{ operator: { id: t.owner.id } }] });
  expectError(await t.owner.gql(APPROVE, { id: req.id }), 'CONFLICT');
  expectError(await t.owner.gql(CLAIM, { id: req.id }), 'FORBIDDEN');

  const claimed = ok(await t.admin.gql(CLAIM, { id: req.id })).claimKeyRequest;
  expect(claimed.secret).toMatch(/^ak_prod_/);
  expect(claimed.key).toMatchObject({ permission: 'FULL_ACCESS', type: 'PRODUCTION' });
  expect((await h.verify({ key: claimed.secret, permission: 'FULL_ACCESS' })).body.valid).toBe(true);
  expectError(await t.admin.gql(CLAIM, { id: req.id }), 'CONFLICT');
  const listed = ok(await t.auditor.gql(LIST, { status: 'ISSUED' })).keyRequests.edges.map((e: any) => e.node);
  expect(listed).toEqual([{ id: req.id, status: 'ISSUED' }]);

  const events = await h.db.prisma.outboxEvent.findMany({ where: { accountId: t.acct.accountId, type: { startsWith: 'key_request.' } }, orderBy: { createdAt: 'asc' } });
  expect(events.map((e) => e.type)).toEqual(['key_request.created', 'key_request.approved', 'key_request.claimed']);
  expect(JSON.stringify(events)).not.toContain(claimed.secret);
  const actions = await h.db.prisma.auditEvent.findMany({ where: { accountId: t.acct.accountId, action: { startsWith: 'key_request.' } }, orderBy: { sequence: 'asc' } });
  expect(actions.map((a) => [a.action, a.actorOperatorId])).toEqual([
    ['key_request.create', t.admin.id],
    ['key_request.approve', t.owner.id],
    ['key_request.claim', t.admin.id],
  ]);
});

test('with approvals: 2, one approval leaves the request PENDING; a second person approves it', async () => {
  const t = await team('two', { requireFor: ['EMERGENCY'], approvals: 2 });
  const input = { name: 'break-glass', type: 'EMERGENCY', ipAllowlist: ['203.0.113.7'] };
  expectError(await t.admin.gql(CREATE_KEY, { input }), 'APPROVAL_REQUIRED');
  const req = ok(await t.admin.gql(REQUEST, { input, justification: 'incident 42' })).requestKey;
  expect(ok(await t.owner.gql(APPROVE, { id: req.id })).approveKeyRequest.status).toBe('PENDING');
  expectError(await t.admin.gql(CLAIM, { id: req.id }), 'CONFLICT');
  expect(ok(await t.owner2.gql(APPROVE, { id: req.id })).approveKeyRequest.status).toBe('APPROVED');
  expect(ok(await t.admin.gql(CLAIM, { id: req.id })).claimKeyRequest.key.type).toBe('EMERGENCY');
});

test('a key may request; people approve; the requesting key claims', async () => {
  const t = await team('by-key', { requireFor: ['ANY'], approvals: 1 });
  const req = ok(await h.gql(REQUEST, { input: { name: 'from-a-script', type: 'DEVELOPMENT' }, justification: 'ci' }, t.acct.secret)).requestKey;
  expect(req).toMatchObject({ requestedBy: null, requestedByKey: { id: t.acct.keyId } });
  ok(await t.admin.gql(APPROVE, { id: req.id }));
  expectError(await t.admin.gql(CLAIM, { id: req.id }), 'FORBIDDEN');
  expect(ok(await h.gql(CLAIM, { id: req.id }, t.acct.secret)).claimKeyRequest.secret).toMatch(/^ak_dev_/);
});

test('a rejected request cannot be approved or claimed; the reason is kept and sent', async () => {
  const t = await team('reject', { requireFor: ['HIGH_PRIVILEGE'], approvals: 1 });
  const req = ok(await t.admin.gql(REQUEST, { input: { name: 'x', type: 'PRODUCTION', permission: 'MANAGE' }, justification: 'please' })).requestKey;
  expectError(await t.owner.gql(REJECT, { id: req.id, reason: '  ' }), 'BAD_USER_INPUT', 'reason');
  const rejected = ok(await t.owner.gql(REJECT, { id: req.id, reason: 'use a narrower key' })).rejectKeyRequest;
  expect(rejected).toMatchObject({ status: 'REJECTED', reason: 'use a narrower key', rejectedBy: { id: t.owner.id } });
  expectError(await t.owner2.gql(APPROVE, { id: req.id }), 'CONFLICT');
  expectError(await t.admin.gql(CLAIM, { id: req.id }), 'CONFLICT');
  const event = await h.db.prisma.outboxEvent.findFirstOrThrow({ where: { accountId: t.acct.accountId, type: 'key_request.rejected' } });
  expect(event.data).toMatchObject({ requestId: req.id, reason: 'use a narrower key' });
});

test('a request expires after 7 days (scheduled job): it can then be neither approved nor claimed', async () => {
  const t = await team('expiry', { requireFor: ['HIGH_PRIVILEGE'], approvals: 1 });
  const req = ok(await t.admin.gql(REQUEST, { input: { name: 'late', type: 'PRODUCTION', permission: 'MANAGE' }, justification: 'later' })).requestKey;
  const days = (new Date(req.expiresAt).getTime() - new Date(req.createdAt).getTime()) / 86_400_000;
  expect(days).toBe(7);
  await h.db.prisma.keyRequest.update({ where: { id: req.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  expect((await runScan('expire-key-requests', { db: h.db } as never)).expired).toBeGreaterThanOrEqual(1);
  expect((await h.db.prisma.keyRequest.findUniqueOrThrow({ where: { id: req.id } })).status).toBe('EXPIRED');
  expectError(await t.owner.gql(APPROVE, { id: req.id }), 'CONFLICT');
  expectError(await t.admin.gql(CLAIM, { id: req.id }), 'CONFLICT');
});

test('a request for more than the requester may have is refused at once, and writes nothing', async () => {
  const t = await team('too-much', { requireFor: ['ANY'], approvals: 1 });
  ok(await t.owner.gql(SET_POLICY, { input: { requireFor: [], approvals: 1 } }));
  const manager = await createKey(h, t.acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  const sibling = await createKey(h, t.acct.secret, { name: 'sibling', type: 'PRODUCTION', permission: 'EXECUTE' });
  ok(await t.owner.gql(SET_POLICY, { input: { requireFor: ['ANY'], approvals: 1 } }));
  const before = await counts(t.acct.accountId);
  expectError(await h.gql(REQUEST, { input: { name: 'up', type: 'PRODUCTION', permission: 'FULL_ACCESS' }, parentId: manager.key.id, justification: 'more' }, manager.secret), 'EXCEEDS_PARENT');
  expectError(await h.gql(REQUEST, { input: { name: 'side', type: 'PRODUCTION' }, parentId: sibling.key.id, justification: 'theirs' }, manager.secret), 'NOT_FOUND');
  expectError(await h.gql(REQUEST, { input: { name: 'top', type: 'PRODUCTION' }, justification: 'top' }, manager.secret), 'FORBIDDEN');
  expectError(await t.admin.gql(REQUEST, { input: { name: '', type: 'PRODUCTION' }, justification: 'x' }), 'BAD_USER_INPUT', 'input.name');
  expectError(await t.admin.gql(REQUEST, { input: { name: 'ok', type: 'PRODUCTION' }, justification: ' ' }), 'BAD_USER_INPUT', 'justification');
  expectError(await t.auditor.gql(REQUEST, { input: { name: 'ok', type: 'PRODUCTION' }, justification: 'x' }), 'FORBIDDEN');
  expect(await counts(t.acct.accountId)).toEqual(before);
  const mine = ok(await h.gql(REQUEST, { input: { name: 'down', type: 'PRODUCTION', permission: 'EXECUTE' }, parentId: manager.key.id, justification: 'ok' }, manager.secret)).requestKey;
  expect(mine.parent).toEqual({ id: manager.key.id });
  expect(ok(await h.gql(LIST, {}, manager.secret)).keyRequests.edges.map((e: any) => e.node.id)).toEqual([mine.id]);
});

test("two accounts: another account's request answers NOT_FOUND and is not listed", async () => {
  const a = await team('iso-a', { requireFor: ['ANY'], approvals: 1 });
  const b = await team('iso-b');
  const req = ok(await a.admin.gql(REQUEST, { input: { name: 'a-key', type: 'DEVELOPMENT' }, justification: 'a' })).requestKey;
  expectError(await b.owner.gql(APPROVE, { id: req.id }), 'NOT_FOUND');
  expectError(await b.owner.gql(REJECT, { id: req.id, reason: 'no' }), 'NOT_FOUND');
  expectError(await h.gql(CLAIM, { id: req.id }, b.acct.secret), 'NOT_FOUND');
  expect(ok(await b.owner.gql(LIST)).keyRequests.edges).toEqual([]);
  expect((await h.db.prisma.keyRequest.findUniqueOrThrow({ where: { id: req.id } })).status).toBe('PENDING');
});
