import { Webhook } from 'standardwebhooks';
import { verifyAuditChain } from '../../src/audit/chain';
import { runScan } from '../../workers/scheduled';
import { ok } from '../helpers/gql-fixtures';
import type { Harness } from '../helpers/harness';
import { signedInOperator } from '../helpers/operators';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { createEndpoint, startIsolatedHarness, type IsolatedHarness } from '../helpers/webhooks';

// The approval flow's webhooks end to end: a real receiving HTTP server gets key_request.created,
// .approved, .rejected, .claimed and .expired, each signed per Standard Webhooks (checked with the
// standardwebhooks library), never with a secret; expiry (7 days, a scheduled job) is audited with
// the scheduler as its actor.

jest.setTimeout(180_000);

let stack: IsolatedHarness;
let h: Harness;
let rx: Receiver;

beforeAll(async () => {
  stack = await startIsolatedHarness('kr_hooks', { workers: true });
  h = stack.h;
  rx = await startReceiver();
});
afterAll(async () => {
  await rx.close();
  await stack.close();
});

const REQUEST = `mutation($input: CreateKeyInput!, $justification: String!) { requestKey(input: $input, justification: $justification) { id } }`;
const APPROVE = `mutation($id: ID!) { approveKeyRequest(id: $id) { status } }`;
const REJECT = `mutation($id: ID!, $reason: String!) { rejectKeyRequest(id: $id, reason: $reason) { status } }`;
const CLAIM = `mutation($id: ID!) { claimKeyRequest(id: $id) { secret key { id } } }`;
const STATUS = `query { keyRequests(first: 10) { edges { node { id status } } } }`;

test('created, approved, rejected, claimed and expired reach a receiver, signed; expiry is audited as the scheduler', async () => {
  const acct = await h.newAccount('kr-hooks');
  const other = await h.newAccount('kr-hooks-other');
  const owner = await signedInOperator(h, acct.accountId, 'OWNER');
  const admin = await signedInOperator(h, acct.accountId, 'ADMIN');
  ok(await owner.gql(`mutation { setApprovalPolicy(input: { requireFor: [HIGH_PRIVILEGE], approvals: 1 }) { approvals } }`));
  const ep = await createEndpoint(h, acct.secret, { url: `${rx.url}/kr`, eventTypes: ['key_request.*'] });
  // Another account's endpoint on the same receiver hears nothing of this account's requests.
  await createEndpoint(h, other.secret, { url: `${rx.url}/other`, eventTypes: ['*'] });
  const input = (name: string) => ({ input: { name, type: 'PRODUCTION', permission: 'FULL_ACCESS' }, justification: `${name} needs it` });

  const granted = ok(await admin.gql(REQUEST, input('granted'))).requestKey.id;
  ok(await owner.gql(APPROVE, { id: granted }));
  const claimed = ok(await admin.gql(CLAIM, { id: granted })).claimKeyRequest;
  const refused = ok(await admin.gql(REQUEST, input('refused'))).requestKey.id;
  ok(await owner.gql(REJECT, { id: refused, reason: 'too broad' }));
  const late = ok(await admin.gql(REQUEST, input('late'))).requestKey.id;

  // The request made 7 days and a second ago (backdated in the database: a moved clock would also
  // move the deliveries' schedule) reads EXPIRED at once; the scheduled scan marks it, once.
  const week = 7 * 86_400_000 + 1000;
  const row = await stack.iso.db.prisma.keyRequest.findUniqueOrThrow({ where: { id: late } });
  await stack.iso.db.prisma.keyRequest.update({ where: { id: late }, data: { createdAt: new Date(row.createdAt.getTime() - week), expiresAt: new Date(row.expiresAt.getTime() - week) } });
  expect(ok(await owner.gql(STATUS)).keyRequests.edges.find((e: any) => e.node.id === late).node.status).toBe('EXPIRED');
  expect((await runScan('expire-key-requests', { db: stack.iso.db } as never)).expired).toBe(1);
  expect((await runScan('expire-key-requests', { db: stack.iso.db } as never)).expired).toBe(0);

  const mine = () => rx.received.filter((r) => r.path === '/kr');
  await rx.waitFor(() => mine().length >= 7, 60_000, 'seven key_request webhooks');
  const wh = new Webhook(ep.secret);
  const bodies = mine().map((r) => wh.verify(r.body, { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature }) as any);
  const seen = bodies.map((b) => [b.type, b.data.requestId, b.data.status]);
  expect(seen).toEqual(
    expect.arrayContaining([
      ['key_request.created', granted, 'PENDING'],
      ['key_request.approved', granted, 'APPROVED'],
      ['key_request.claimed', granted, 'ISSUED'],
      ['key_request.created', refused, 'PENDING'],
      ['key_request.rejected', refused, 'REJECTED'],
      ['key_request.created', late, 'PENDING'],
      ['key_request.expired', late, 'EXPIRED'],
    ]),
  );
  expect(seen).toHaveLength(7);
  expect(bodies.find((b) => b.type === 'key_request.claimed').data.keyId).toBe(claimed.key.id);
  expect(bodies.find((b) => b.type === 'key_request.rejected').data.reason).toBe('too broad');
  expect(bodies.find((b) => b.type === 'key_request.approved').data.approvedBy).toBe(owner.id);
  for (const r of mine()) expect(r.body).not.toContain(claimed.secret);
  expect(rx.received.filter((r) => r.path === '/other' && r.body.includes('key_request'))).toEqual([]);

  const expiry = await stack.iso.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId, action: 'key_request.expire' } });
  expect(expiry.map((e) => ({ targetId: e.targetId, actorKeyId: e.actorKeyId, actorOperatorId: e.actorOperatorId, actorSystem: e.actorSystem, before: e.before, after: e.after }))).toEqual([
    { targetId: late, actorKeyId: null, actorOperatorId: null, actorSystem: 'scheduler', before: { status: 'PENDING' }, after: { status: 'EXPIRED' } },
  ]);
  expect(await verifyAuditChain(stack.iso.db.prisma, acct.accountId)).toMatchObject({ valid: true });
});
