import { parse } from 'csv-parse/sync';
import { flushUsage } from '../../src/reports/usage-flush';
import { createAgent, createKey, ok } from '../helpers/gql-fixtures';
import { startHarness, type Harness } from '../helpers/harness';

// Usage per identity: the rollups carry the identity of their key, Identity.usage sums its keys'
// rows (only in its own account), and the access and usage reports and exportConfiguration name
// the identities.

const CREATE_IDENTITY = 'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { id externalId } }';
const IDENTITY_USAGE = 'query($id: ID!, $from: DateTime!, $to: DateTime!, $g: UsageGranularity) { identity(id: $id) { usage(from: $from, to: $to, granularity: $g) { requests allowed denied units } } }';
const USAGE_REPORT = 'query($from: DateTime!, $to: DateTime!, $format: ReportFormat) { usageReport(from: $from, to: $to, format: $format) { content } }';
const ACCESS_REPORT = 'query($format: ReportFormat) { accessReport(format: $format) { content } }';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const from = () => new Date(Date.now() - 3_600_000).toISOString();
const to = () => new Date(Date.now() + 3_600_000).toISOString();

async function flush() {
  await h.app.usage.flush();
  await flushUsage(h.db, h.redis, h.prefix);
}

async function verifyTimes(secret: string, n: number, body: Record<string, unknown> = {}) {
  for (let i = 0; i < n; i++) await h.verify({ key: secret, ...body });
}

/** Account A: identity cust_a with two keys and a key without identity; account B: its own identity and key. */
async function twoAccounts() {
  const a = await h.newAccount('idusage-a');
  const b = await h.newAccount('idusage-b');
  const idA = ok(await h.gql(CREATE_IDENTITY, { input: { externalId: 'cust_a' } }, a.secret)).createIdentity;
  const idB = ok(await h.gql(CREATE_IDENTITY, { input: { externalId: 'cust_b' } }, b.secret)).createIdentity;
  const k1 = await createKey(h, a.secret, { name: 'k1', type: 'PRODUCTION', identityId: idA.id, permission: 'READ_ONLY' });
  const k2 = await createKey(h, a.secret, { name: 'k2', type: 'PRODUCTION', identityId: idA.id });
  const loose = await createKey(h, a.secret, { name: 'loose', type: 'PRODUCTION' });
  const kb = await createKey(h, b.secret, { name: 'kb', type: 'PRODUCTION', identityId: idB.id });
  return { a, b, idA, idB, k1, k2, loose, kb };
}

test('Identity.usage sums the rollups of its keys; another account neither sees it nor adds to it', async () => {
  const { a, b, idA, idB, k1, k2, loose, kb } = await twoAccounts();
  await verifyTimes(k1.secret, 3, { cost: 2 });
  await verifyTimes(k1.secret, 1, { permission: 'FULL_ACCESS' }); // denied
  await verifyTimes(k2.secret, 2);
  await verifyTimes(loose.secret, 4);
  await verifyTimes(kb.secret, 5);
  await flush();

  const rollups = await h.db.prisma.usageRollup.findMany({ where: { accountId: a.accountId }, select: { keyId: true, identityId: true } });
  expect(Object.fromEntries(rollups.map((r) => [r.keyId, r.identityId]))).toEqual({ [k1.key.id]: idA.id, [k2.key.id]: idA.id, [loose.key.id]: null });

  const usageA = ok(await h.gql(IDENTITY_USAGE, { id: idA.id, from: from(), to: to(), g: 'HOUR' }, a.secret)).identity.usage;
  expect(usageA).toEqual([{ requests: 6, allowed: 5, denied: 1, units: 8 }]);
  const usageB = ok(await h.gql(IDENTITY_USAGE, { id: idB.id, from: from(), to: to() }, b.secret)).identity.usage;
  expect(usageB).toEqual([{ requests: 5, allowed: 5, denied: 0, units: 5 }]);
  // Account B asking for A's identity gets nothing of it.
  const cross = await h.gql(IDENTITY_USAGE, { id: idA.id, from: from(), to: to() }, b.secret);
  expect(cross.data?.identity ?? null).toBeNull();
  expect(JSON.stringify(cross)).not.toContain('"requests"');
});

test('a page of identities with their usage is read in one grouped query, each with its own numbers', async () => {
  const a = await h.newAccount('idusage-page');
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const identity = ok(await h.gql(CREATE_IDENTITY, { input: { externalId: `page_${i}` } }, a.secret)).createIdentity;
    const key = await createKey(h, a.secret, { name: `k${i}`, type: 'PRODUCTION', identityId: identity.id });
    await verifyTimes(key.secret, i + 1);
    ids.push(identity.id);
  }
  await flush();
  const vars = { from: from(), to: to() };
  const before = h.db.queryCount();
  ok(await h.gql('{ identities(first: 20) { edges { node { externalId } } } }', {}, a.secret));
  const plain = h.db.queryCount() - before;
  const start = h.db.queryCount();
  const data = ok(await h.gql('query($from: DateTime!, $to: DateTime!) { identities(first: 20) { edges { node { externalId usage(from: $from, to: $to) { requests } } } } }', vars, a.secret));
  expect(h.db.queryCount() - start - plain).toBe(1);
  const requests = Object.fromEntries(data.identities.edges.map((e: any) => [e.node.externalId, e.node.usage.map((p: any) => p.requests)]));
  expect(requests).toEqual({ page_0: [1], page_1: [2], page_2: [3], page_3: [4], page_4: [5], page_5: [6] });
});

test('Identity.usage validates its range like Key.usage', async () => {
  const a = await h.newAccount('idusage-range');
  const id = ok(await h.gql(CREATE_IDENTITY, { input: { externalId: 'r' } }, a.secret)).createIdentity;
  const r = await h.gql(IDENTITY_USAGE, { id: id.id, from: to(), to: from() }, a.secret);
  expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
});

test('the usage and access reports carry the identity next to the key, in JSON and CSV', async () => {
  const { a, idA, k1, k2, loose } = await twoAccounts();
  await createAgent(h, a.secret, { name: 'agent-one' });
  await verifyTimes(k1.secret, 2);
  await verifyTimes(loose.secret, 1);
  await flush();

  const usageJson = JSON.parse(ok(await h.gql(USAGE_REPORT, { from: from(), to: to(), format: 'JSON' }, a.secret)).usageReport.content);
  expect(usageJson.columns.slice(0, 5)).toEqual(['keyId', 'keyName', 'keyStart', 'identityId', 'identityExternalId']);
  const usageByKey = Object.fromEntries(usageJson.rows.map((r: any) => [r.keyId, [r.identityId, r.identityExternalId, r.requests]]));
  expect(usageByKey).toEqual({ [k1.key.id]: [idA.id, 'cust_a', 2], [loose.key.id]: [null, null, 1] });
  const usageCsv = parse(ok(await h.gql(USAGE_REPORT, { from: from(), to: to(), format: 'CSV' }, a.secret)).usageReport.content, { columns: true });
  expect(usageCsv.find((r: any) => r.keyId === k1.key.id)).toMatchObject({ identityId: idA.id, identityExternalId: 'cust_a', requests: '2' });
  expect(usageCsv.find((r: any) => r.keyId === loose.key.id)).toMatchObject({ identityId: '', identityExternalId: '' });

  const accessJson = JSON.parse(ok(await h.gql(ACCESS_REPORT, { format: 'JSON' }, a.secret)).accessReport.content);
  const accessByKey = Object.fromEntries(accessJson.rows.map((r: any) => [r.keyId, [r.identityId, r.identityExternalId]]));
  expect(accessByKey[k1.key.id]).toEqual([idA.id, 'cust_a']);
  expect(accessByKey[k2.key.id]).toEqual([idA.id, 'cust_a']);
  expect(accessByKey[loose.key.id]).toEqual([null, null]);
  const accessCsv = parse(ok(await h.gql(ACCESS_REPORT, { format: 'CSV' }, a.secret)).accessReport.content, { columns: true });
  expect(accessCsv.find((r: any) => r.keyId === k2.key.id)).toMatchObject({ identityId: idA.id, identityExternalId: 'cust_a', targetName: 'agent-one' });
});

test('exportConfiguration lists the identities with their limits and the roles, of its own account only', async () => {
  const { a, idA, k1 } = await twoAccounts();
  ok(
    await h.gql(
      'mutation($id: ID!, $input: UpdateIdentityInput!) { updateIdentity(id: $id, input: $input) { id } }',
      { id: idA.id, input: { metadata: { plan: 'pro' }, rateLimits: [{ window: 'MINUTE', limit: 7 }], quota: { units: 100, period: 'DAY' } } },
      a.secret,
    ),
  );
  const role = ok(
    await h.gql('mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }', { input: { name: 'billing', description: 'reads invoices', permissions: ['billing.read'] } }, a.secret),
  ).createRole;
  const out = ok(await h.gql('{ exportConfiguration }', {}, a.secret)).exportConfiguration;
  expect(out.identities).toEqual([{ id: idA.id, externalId: 'cust_a', metadata: { plan: 'pro' }, rateLimits: [{ window: 'MINUTE', limit: 7 }], quota: { units: 100, period: 'DAY' }, createdAt: expect.any(String) }]);
  expect(out.roles).toEqual([{ id: role.id, name: 'billing', description: 'reads invoices', permissions: ['billing.read'] }]);
  expect(out.keys.find((k: any) => k.id === k1.key.id)).toMatchObject({ identityId: idA.id });
});
