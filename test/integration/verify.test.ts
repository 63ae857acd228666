import net from 'node:net';
import { clock } from '../../src/infra/clock';
import { logger } from '../../src/infra/logger';
import { startHarness, type Harness } from '../helpers/harness';

// POST /v1/keys/verify: every code of this version, in order, and the HTTP edges.

let h: Harness;
let acct: { accountId: string; secret: string };
let agentA: string;
let agentB: string;
let groupId: string;
let workflowId: string;

const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`;

async function key(input: Record<string, unknown>): Promise<{ secret: string; id: string }> {
  const r = await h.gql(CREATE, { input: { name: 'k', type: 'PRODUCTION', ...input } }, acct.secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret, id: r.data.createKey.key.id };
}

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('verify');
  const a = await h.gql(`mutation { a: createAgent(input: { name: "a" }) { id } b: createAgent(input: { name: "b" }) { id } }`, {}, acct.secret);
  agentA = a.data.a.id;
  agentB = a.data.b.id;
  const g = await h.gql(`mutation($ids: [ID!]!) { createAgentGroup(input: { name: "g", agentIds: $ids }) { id } }`, { ids: [agentA] }, acct.secret);
  groupId = g.data.createAgentGroup.id;
  const w = await h.gql(`mutation($ids: [ID!]) { createWorkflow(input: { name: "w", agentIds: $ids }) { id } }`, { ids: [agentB] }, acct.secret);
  workflowId = w.data.createWorkflow.id;
});
afterAll(() => h.close());
afterEach(() => clock.reset());

test('a valid key answers VALID with its id, account, permission, scope and expiry', async () => {
  const k = await key({ permission: 'EXECUTE' });
  const r = await h.verify({ key: k.secret, permission: 'EXECUTE' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ valid: true, code: 'VALID', keyId: k.id, accountId: acct.accountId, permission: 'EXECUTE', scope: { kind: 'ALL_AGENTS' } });
  expect(new Date(r.body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 364 * 86_400_000);
});

test('an unknown key and a key with a wrong checksum answer NOT_FOUND', async () => {
  const k = await key({});
  const last = k.secret.slice(-1);
  const tampered = k.secret.slice(0, -1) + (last === 'a' ? 'b' : 'a');
  expect((await h.verify({ key: tampered })).body).toMatchObject({ valid: false, code: 'NOT_FOUND', keyId: null });
  expect((await h.verify({ key: 'ak_prod_nothing' })).body.code).toBe('NOT_FOUND');
});

test('a key with a wrong checksum is rejected without a database read', async () => {
  const k = await key({});
  const tampered = k.secret.slice(0, -6) + '000000';
  const before = h.db.queryCount();
  await h.verify({ key: tampered });
  expect(h.db.queryCount()).toBe(before);
});

test('a repeat verification of a cached key reads no database', async () => {
  const k = await key({});
  await h.verify({ key: k.secret });
  const before = h.db.queryCount();
  for (let i = 0; i < 5; i++) expect((await h.verify({ key: k.secret })).body.code).toBe('VALID');
  expect(h.db.queryCount()).toBe(before);
});

test('an expired key answers EXPIRED', async () => {
  const k = await key({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
  expect((await h.verify({ key: k.secret })).body.code).toBe('VALID');
  clock.advance(61_000);
  expect((await h.verify({ key: k.secret })).body.code).toBe('EXPIRED');
});

test('a revoked key answers REVOKED at once, even when it was cached', async () => {
  const k = await key({});
  expect((await h.verify({ key: k.secret })).body.code).toBe('VALID');
  const r = await h.gql(`mutation($id: ID!) { revokeKey(id: $id, reason: "test") { status } }`, { id: k.id }, acct.secret);
  expect(r.data.revokeKey.status).toBe('REVOKED');
  expect((await h.verify({ key: k.secret })).body.code).toBe('REVOKED');
});

test.each([
  ['READ_ONLY', 'READ_ONLY', 'VALID'],
  ['READ_ONLY', 'EXECUTE', 'INSUFFICIENT_PERMISSIONS'],
  ['EXECUTE', 'MANAGE', 'INSUFFICIENT_PERMISSIONS'],
  ['MANAGE', 'EXECUTE', 'VALID'],
  ['MANAGE', 'FULL_ACCESS', 'INSUFFICIENT_PERMISSIONS'],
  ['FULL_ACCESS', 'FULL_ACCESS', 'VALID'],
])('a %s key asked for %s answers %s', async (held, asked, code) => {
  const k = await key({ permission: held });
  expect((await h.verify({ key: k.secret, permission: asked })).body.code).toBe(code);
});

test('the default permission asked for is READ_ONLY', async () => {
  const k = await key({ permission: 'READ_ONLY' });
  expect((await h.verify({ key: k.secret })).body.code).toBe('VALID');
});

test('scopes: SINGLE_AGENT, AGENT_GROUP, WORKFLOW and ALL_AGENTS allow exactly their targets', async () => {
  const single = await key({ scope: { kind: 'SINGLE_AGENT', agentId: agentA } });
  const group = await key({ scope: { kind: 'AGENT_GROUP', groupId } });
  const flow = await key({ scope: { kind: 'WORKFLOW', workflowIds: [workflowId] } });
  const all = await key({});
  const code = async (secret: string, target: Record<string, string>) => (await h.verify({ key: secret, ...target })).body.code;

  expect(await code(single.secret, { agentId: agentA })).toBe('VALID');
  expect(await code(single.secret, { agentId: agentB })).toBe('OUT_OF_SCOPE');
  expect(await code(single.secret, { workflowId })).toBe('OUT_OF_SCOPE');

  expect(await code(group.secret, { agentId: agentA })).toBe('VALID');
  expect(await code(group.secret, { agentId: agentB })).toBe('OUT_OF_SCOPE');

  expect(await code(flow.secret, { workflowId })).toBe('VALID');
  expect(await code(flow.secret, { agentId: agentB })).toBe('VALID'); // an agent of the workflow
  expect(await code(flow.secret, { agentId: agentA })).toBe('OUT_OF_SCOPE');

  expect(await code(all.secret, { agentId: agentA })).toBe('VALID');
  expect(await code(all.secret, { workflowId })).toBe('VALID');
  expect(await code(all.secret, { agentId: '7a3c1f2e-0000-4000-8000-000000000000' })).toBe('OUT_OF_SCOPE');
});

test("ALL_AGENTS does not reach another account's agent", async () => {
  const other = await h.newAccount('verify-other');
  const a = await h.gql(`mutation { createAgent(input: { name: "theirs" }) { id } }`, {}, other.secret);
  const k = await key({});
  expect((await h.verify({ key: k.secret, agentId: a.data.createAgent.id })).body.code).toBe('OUT_OF_SCOPE');
});

test('IP allowlists: addresses and CIDR ranges, IPv4 and IPv6', async () => {
  const k = await key({ ipAllowlist: ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32'] });
  const code = async (ip: string) => (await h.verify({ key: k.secret, ip })).body.code;
  expect(await code('203.0.113.7')).toBe('VALID');
  expect(await code('10.20.30.40')).toBe('VALID');
  expect(await code('2001:db8:1::5')).toBe('VALID');
  expect(await code('::ffff:10.1.1.1')).toBe('VALID');
  expect(await code('203.0.113.8')).toBe('IP_NOT_ALLOWED');
  expect(await code('2001:db9::1')).toBe('IP_NOT_ALLOWED');
  // The caller's own address (127.0.0.1) when the body names none.
  expect((await h.verify({ key: k.secret })).body.code).toBe('IP_NOT_ALLOWED');
});

test('checks run in the documented order: expired before revoked before permission before scope before IP', async () => {
  const k = await key({ permission: 'READ_ONLY', scope: { kind: 'SINGLE_AGENT', agentId: agentA }, ipAllowlist: ['192.0.2.1'], expiresAt: new Date(Date.now() + 60_000).toISOString() });
  const body = { key: k.secret, permission: 'EXECUTE', agentId: agentB, ip: '192.0.2.99' };
  expect((await h.verify(body)).body.code).toBe('INSUFFICIENT_PERMISSIONS');
  expect((await h.verify({ ...body, permission: 'READ_ONLY' })).body.code).toBe('OUT_OF_SCOPE');
  expect((await h.verify({ ...body, permission: 'READ_ONLY', agentId: agentA })).body.code).toBe('IP_NOT_ALLOWED');
  await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: k.id }, acct.secret);
  expect((await h.verify(body)).body.code).toBe('REVOKED');
  clock.advance(120_000);
  expect((await h.verify(body)).body.code).toBe('EXPIRED');
});

describe('bad requests', () => {
  test('malformed JSON answers 400', async () => {
    const r = await h.verify('{"key": ');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MALFORMED_JSON');
  });
  test.each([
    [{}, 'key'],
    [{ key: 42 }, 'key'],
    [{ key: 'ak_prod_x', permission: 'ADMIN' }, 'permission'],
    [{ key: 'ak_prod_x', ip: 'not-an-ip' }, 'ip'],
    [{ key: 'ak_prod_x', cost: -1 }, 'cost'],
    [{ key: 'ak_prod_x', bytes: 1.5 }, 'bytes'],
    [{ key: 'ak_prod_x', agentId: 7 }, 'agentId'],
    [[1, 2], 'object'],
  ])('%j answers 400 naming %s', async (body, field) => {
    const r = await h.verify(body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain(field);
  });
  test('an oversize body answers 413', async () => {
    const r = await h.verify({ key: 'ak_prod_x', pad: 'x'.repeat(20_000) });
    expect(r.status).toBe(413);
  });
  test('a client that leaves before its body is complete is not logged as a failure', async () => {
    const errors = jest.spyOn(logger, 'error');
    try {
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
        await new Promise((r) => socket.once('connect', r));
        socket.write('POST /v1/keys/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"key":"ak_');
        await new Promise((r) => setTimeout(r, 100));
        socket.destroy();
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(errors).not.toHaveBeenCalled();
      expect((await h.verify({ key: 'ak_prod_x' })).status).toBe(200);
    } finally {
      errors.mockRestore();
    }
  });
  test('GET answers 405', async () => {
    const r = await fetch(`${h.url}/v1/keys/verify`);
    expect(r.status).toBe(405);
  });
});

test('health endpoints answer', async () => {
  expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  const ready = await fetch(`${h.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ ready: true, database: 'ok', redis: 'ok' });
});
