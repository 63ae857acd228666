import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok } from '../helpers/gql-fixtures';

// README, Usage and security monitoring: a security event is acknowledged by a key above the key
// whose action raised it (or a master key), never by that key itself: a MANAGE key cannot clear
// the trace of its own escalation attempt or of the keys it created.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
let manager: { secret: string; key: any };
let child: { secret: string; key: any };

const DERIVE = `mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { secret key { id } } }`;
const ACK = `mutation($id: ID!) { acknowledgeSecurityEvent(id: $id) { id acknowledgedAt } }`;

async function eventsAbout(keyId: string, kind: string): Promise<string[]> {
  const data = ok(await h.gql(`query($f: SecurityEventFilter) { securityEvents(first: 50, filter: $f) { edges { node { id } } } }`, { f: { keyId, kind } }, acct.secret));
  return data.securityEvents.edges.map((e: any) => e.node.id);
}

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('ack');
  manager = await createKey(h, acct.secret, { name: 'manager', type: 'DEVELOPMENT', permission: 'MANAGE' });
  child = ok(await h.gql(DERIVE, { p: manager.key.id, input: { name: 'child', type: 'DEVELOPMENT', permission: 'MANAGE' } }, manager.secret)).deriveKey;
});
afterAll(() => h.close());

test('a MANAGE key cannot acknowledge the KEY_CREATED event of a key it created itself; its master can', async () => {
  const [id] = await eventsAbout(child.key.id, 'KEY_CREATED');
  expect(id).toBeDefined();
  expectError(await h.gql(ACK, { id }, manager.secret), 'FORBIDDEN');
  expect(ok(await h.gql(ACK, { id }, acct.secret)).acknowledgeSecurityEvent.acknowledgedAt).not.toBeNull();
});

test('a MANAGE key cannot acknowledge its own PRIVILEGE_ESCALATION attempt on a key below it', async () => {
  const res = await h.gql(DERIVE, { p: child.key.id, input: { name: 'too-much', type: 'DEVELOPMENT', permission: 'FULL_ACCESS' } }, manager.secret);
  expectError(res, 'EXCEEDS_PARENT');
  const [id] = await eventsAbout(child.key.id, 'PRIVILEGE_ESCALATION');
  expect(id).toBeDefined();
  expectError(await h.gql(ACK, { id }, manager.secret), 'FORBIDDEN');
  expectError(await h.gql(ACK, { id }, child.secret), 'NOT_FOUND');
  ok(await h.gql(ACK, { id }, acct.secret));
});

test('a MANAGE key cannot acknowledge events about its own key', async () => {
  const [id] = await eventsAbout(manager.key.id, 'KEY_CREATED');
  expect(id).toBeDefined();
  expectError(await h.gql(ACK, { id }, manager.secret), 'NOT_FOUND');
});

test('a MANAGE key may acknowledge an event raised by a key below it, which itself may not', async () => {
  const grandchild = ok(await h.gql(DERIVE, { p: child.key.id, input: { name: 'grandchild', type: 'DEVELOPMENT', permission: 'MANAGE' } }, child.secret)).deriveKey;
  const [id] = await eventsAbout(grandchild.key.id, 'KEY_CREATED');
  expect(id).toBeDefined();
  expectError(await h.gql(ACK, { id }, child.secret), 'FORBIDDEN');
  expect(ok(await h.gql(ACK, { id }, manager.secret)).acknowledgeSecurityEvent.acknowledgedAt).not.toBeNull();
  // A refused acknowledgement changed nothing and wrote no audit event of its own.
  const audit = ok(await h.gql(`{ auditEvents(first: 100, filter: { action: "securityEvent.acknowledge" }) { edges { node { targetId actor { id } } } } }`, {}, acct.secret));
  const mine = audit.auditEvents.edges.filter((e: any) => e.node.targetId === id).map((e: any) => e.node.actor.id);
  expect(mine).toEqual([manager.key.id]);
});
