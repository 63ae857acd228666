import crypto from 'node:crypto';
import { clock } from '../../src/infra/clock';
import { configureWebhooks } from '../../src/webhooks/runtime';
import { startHarness, type Harness } from '../helpers/harness';

// Key hierarchies, rotation and bulk operations (README, Hierarchies, rotation, bulk changes).

jest.setTimeout(60_000);

let h: Harness;
afterEach(() => clock.reset());
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const KEY_FIELDS = 'id name permission effectivePermission status expiresAt ipAllowlist rateLimits { window limit } parent { id } scope { kind }';
const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { ${KEY_FIELDS} } } }`;
const DERIVE = `mutation($parentId: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $parentId, input: $input) { secret key { ${KEY_FIELDS} } } }`;

async function create(secret: string, input: Record<string, unknown>) {
  const r = await h.gql(CREATE, { input: { name: 'parent', type: 'PRODUCTION', ...input } }, secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createKey as { secret: string; key: any };
}
async function derive(secret: string, parentId: string, input: Record<string, unknown>) {
  return h.gql(DERIVE, { parentId, input: { name: 'child', type: 'PRODUCTION', ...input } }, secret);
}
async function deriveOk(secret: string, parentId: string, input: Record<string, unknown> = {}) {
  const r = await derive(secret, parentId, input);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.deriveKey as { secret: string; key: any };
}
const counts = async (accountId: string) => ({
  keys: await h.db.prisma.apiKey.count({ where: { accountId } }),
  audit: await h.db.prisma.auditEvent.count({ where: { accountId } }),
});

describe('deriveKey', () => {
  test('a derived key follows its parent where the input is silent, and the child links to the parent', async () => {
    const acct = await h.newAccount('derive');
    const parent = await create(acct.secret, { permission: 'MANAGE', ipAllowlist: ['10.0.0.0/8'], rateLimits: [{ window: 'MINUTE', limit: 100 }], expiresIn: 'DAYS_90' });
    const child = await deriveOk(acct.secret, parent.key.id);
    expect(child.key.parent.id).toBe(parent.key.id);
    expect(child.key.permission).toBe('EXECUTE'); // the PRODUCTION preset, below the parent's MANAGE
    expect(child.key.ipAllowlist).toEqual(['10.0.0.0/8']);
    expect(child.key.rateLimits).toEqual([{ window: 'MINUTE', limit: 100 }]);
    expect(new Date(child.key.expiresAt).getTime()).toBeLessThanOrEqual(new Date(parent.key.expiresAt).getTime());
    expect(child.secret).toMatch(/^ak_prod_/);
  });

  test('a MANAGE key derives from itself and its subtree, not elsewhere; a READ_ONLY key may not derive', async () => {
    const acct = await h.newAccount('derive-auth');
    const manager = await create(acct.secret, { permission: 'MANAGE' });
    const sibling = await create(acct.secret, { permission: 'MANAGE' });
    const child = await deriveOk(manager.secret, manager.key.id, { permission: 'MANAGE' });
    const grandchild = await deriveOk(manager.secret, child.key.id, { permission: 'READ_ONLY' });
    expect(grandchild.key.parent.id).toBe(child.key.id);
    expect((await derive(manager.secret, sibling.key.id, {})).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const reader = await create(acct.secret, { permission: 'READ_ONLY' });
    expect((await derive(reader.secret, reader.key.id, { permission: 'READ_ONLY' })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  const escalations: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['higher permission', { permission: 'EXECUTE' }, { permission: 'MANAGE' }, 'input.permission'],
    ['wider scope', { scope: { kind: 'SINGLE_AGENT', agentId: '$agent' } }, { scope: { kind: 'ALL_AGENTS' } }, 'input.scope'],
    ['later expiry', { expiresIn: 'DAYS_30' }, { expiresIn: 'YEAR_1' }, 'input.expiresAt'],
    ['no expiry under an expiring parent', { expiresIn: 'DAYS_30' }, { expiresIn: 'NEVER' }, 'input.expiresAt'],
    ['a higher rate limit', { rateLimits: [{ window: 'MINUTE', limit: 10 }] }, { rateLimits: [{ window: 'MINUTE', limit: 11 }] }, 'input.rateLimits'],
    [
      'a missing rate limit window',
      {
        rateLimits: [
          { window: 'MINUTE', limit: 10 },
          { window: 'DAY', limit: 100 },
        ],
      },
      { rateLimits: [{ window: 'MINUTE', limit: 5 }] },
      'input.rateLimits',
    ],
    ['a dropped IP allowlist', { ipAllowlist: ['10.0.0.0/8'] }, { ipAllowlist: [] }, 'input.ipAllowlist'],
    ['a wider IP range', { ipAllowlist: ['10.1.0.0/16'] }, { ipAllowlist: ['10.0.0.0/8'] }, 'input.ipAllowlist'],
    ['a higher quota', { quota: { units: 100, period: 'DAY' } }, { quota: { units: 101, period: 'DAY' } }, 'input.quota'],
    ['a longer quota period', { quota: { units: 100, period: 'DAY' } }, { quota: { units: 100, period: 'MONTH' } }, 'input.quota'],
    ['more concurrency', { maxConcurrent: 2 }, { maxConcurrent: 3 }, 'input.maxConcurrent'],
    ['more countries', { allowedCountries: ['DE'] }, { allowedCountries: ['DE', 'FR'] }, 'input.allowedCountries'],
  ];

  test.each(escalations)('%s answers EXCEEDS_PARENT naming the field, writes nothing and records PRIVILEGE_ESCALATION', async (_label, parentInput, childInput, field) => {
    const acct = await h.newAccount('escalate');
    const agent = (await h.gql(`mutation { createAgent(input: { name: "a" }) { id } }`, {}, acct.secret)).data.createAgent.id;
    const resolve = (o: Record<string, unknown>) => JSON.parse(JSON.stringify(o).replace('$agent', agent));
    const parent = await create(acct.secret, { permission: 'EXECUTE', ...resolve(parentInput) });
    const before = await counts(acct.accountId);
    const r = await derive(acct.secret, parent.key.id, { permission: 'READ_ONLY', ...childInput });
    expect(r.errors?.[0].extensions?.code).toBe('EXCEEDS_PARENT');
    expect(r.errors?.[0].message).toContain(field);
    expect(await counts(acct.accountId)).toEqual(before);
    const events = await h.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, kind: 'PRIVILEGE_ESCALATION' } });
    expect(events).toHaveLength(1);
    expect(events[0].keyId).toBe(parent.key.id);
  });

  test('a child within every limit of its parent is accepted', async () => {
    const acct = await h.newAccount('narrow');
    const parent = await create(acct.secret, {
      permission: 'MANAGE',
      ipAllowlist: ['10.0.0.0/8'],
      rateLimits: [{ window: 'MINUTE', limit: 10 }],
      quota: { units: 100, period: 'MONTH' },
      maxConcurrent: 4,
      allowedCountries: ['DE', 'FR'],
    });
    const child = await derive(acct.secret, parent.key.id, {
      permission: 'EXECUTE',
      ipAllowlist: ['10.2.3.4', '10.9.0.0/16'],
      rateLimits: [{ window: 'MINUTE', limit: 5 }],
      quota: { units: 10, period: 'DAY' },
      maxConcurrent: 1,
      allowedCountries: ['DE'],
    });
    expect(child.errors).toBeUndefined();
  });

  test('an update that widens a derived key beyond its parent answers EXCEEDS_PARENT', async () => {
    const acct = await h.newAccount('update-esc');
    const parent = await create(acct.secret, { permission: 'EXECUTE' });
    const child = await deriveOk(acct.secret, parent.key.id, { permission: 'READ_ONLY' });
    const r = await h.gql(`mutation($id: ID!) { updateKey(id: $id, input: { permission: FULL_ACCESS }) { id } }`, { id: child.key.id }, acct.secret);
    expect(r.errors?.[0].extensions?.code).toBe('EXCEEDS_PARENT');
    const stored = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: child.key.id } });
    expect(stored.permission).toBe('READ_ONLY');
  });

  test.each([
    ['revoked', async (secret: string, id: string) => h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id }, secret)],
    ['rotating', async (secret: string, id: string) => h.gql(`mutation($id: ID!) { rotateKey(id: $id) { secret } }`, { id }, secret)],
  ])('deriving from a %s key answers CONFLICT and writes nothing', async (_label, change) => {
    const acct = await h.newAccount('derive-dead');
    const parent = await create(acct.secret, {});
    await change(acct.secret, parent.key.id);
    const before = await counts(acct.accountId);
    const r = await derive(acct.secret, parent.key.id, { permission: 'READ_ONLY' });
    expect(r.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(await counts(acct.accountId)).toEqual(before);
  });

  test('deriving from an expired key answers CONFLICT', async () => {
    const acct = await h.newAccount('derive-expired');
    const parent = await create(acct.secret, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    clock.advance(61_000);
    const r = await derive(acct.secret, parent.key.id, { permission: 'READ_ONLY' });
    expect(r.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  test('a parent from another account answers NOT_FOUND', async () => {
    const a = await h.newAccount('derive-a');
    const b = await h.newAccount('derive-b');
    const theirs = await create(b.secret, {});
    expect((await derive(a.secret, theirs.key.id, {})).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('effective rights along the chain', () => {
  test('narrowing a parent narrows a grandchild at once, at verification too', async () => {
    const acct = await h.newAccount('chain');
    const parent = await create(acct.secret, { permission: 'MANAGE' });
    const child = await deriveOk(acct.secret, parent.key.id, { permission: 'EXECUTE' });
    const grandchild = await deriveOk(acct.secret, child.key.id, { permission: 'EXECUTE' });
    expect((await h.verify({ key: grandchild.secret, permission: 'EXECUTE' })).body.code).toBe('VALID');

    const u = await h.gql(`mutation($id: ID!) { updateKey(id: $id, input: { permission: READ_ONLY, ipAllowlist: ["192.0.2.0/24"] }) { id } }`, { id: parent.key.id }, acct.secret);
    expect(u.errors).toBeUndefined();
    expect((await h.verify({ key: grandchild.secret, permission: 'EXECUTE', ip: '192.0.2.5' })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await h.verify({ key: grandchild.secret, permission: 'READ_ONLY', ip: '198.51.100.1' })).body.code).toBe('IP_NOT_ALLOWED');
    expect((await h.verify({ key: grandchild.secret, permission: 'READ_ONLY', ip: '192.0.2.5' })).body).toMatchObject({ code: 'VALID', permission: 'READ_ONLY' });
    const g = await h.gql(`query($id: ID!) { key(id: $id) { permission effectivePermission } }`, { id: grandchild.key.id }, acct.secret);
    expect(g.data.key).toEqual({ permission: 'EXECUTE', effectivePermission: 'READ_ONLY' });
  });
});

describe('cascading revocation', () => {
  test('revoking a key revokes its whole subtree, 50 deep, with an audit event per key', async () => {
    const acct = await h.newAccount('deep');
    const root = await create(acct.secret, { permission: 'FULL_ACCESS' });
    const chain = [root];
    for (let i = 0; i < 50; i++) chain.push(await deriveOk(acct.secret, chain[chain.length - 1].key.id, { permission: 'FULL_ACCESS', name: `d${i}`, type: 'EMERGENCY', ipAllowlist: ['127.0.0.1'] }));
    const deepest = chain[chain.length - 1];
    const ids = chain.map((c) => c.key.id);
    const stored = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: deepest.key.id } });
    expect(stored.ancestorIds).toHaveLength(50);
    expect((await h.verify({ key: deepest.secret, ip: '127.0.0.1' })).body.code).toBe('VALID');

    const r = await h.gql(`mutation($id: ID!) { revokeKey(id: $id, reason: "breach") { status } }`, { id: chain[1].key.id }, acct.secret);
    expect(r.errors).toBeUndefined();
    const statuses = await h.db.prisma.apiKey.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } });
    const byId = new Map(statuses.map((s) => [s.id, s.status]));
    expect(byId.get(root.key.id)).toBe('ACTIVE');
    expect(ids.slice(1).every((id) => byId.get(id) === 'REVOKED')).toBe(true);
    expect((await h.verify({ key: deepest.secret, ip: '127.0.0.1' })).body.code).toBe('REVOKED');
    expect(await h.db.prisma.auditEvent.count({ where: { accountId: acct.accountId, action: 'key.revoke' } })).toBe(50);
  });
});

describe('rotateKey', () => {
  test('the old key works until graceEndsAt and not after; the successor works; children move; links are set', async () => {
    const acct = await h.newAccount('rotate');
    const old = await create(acct.secret, { permission: 'MANAGE', rateLimits: [{ window: 'MINUTE', limit: 7 }] });
    const child = await deriveOk(acct.secret, old.key.id, { permission: 'READ_ONLY' });
    const r = await h.gql(
      `mutation($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 60) { secret key { id name permission rateLimits { limit } predecessor { id } } previous { id status graceEndsAt successor { id } } } }`,
      { id: old.key.id },
      acct.secret,
    );
    expect(r.errors).toBeUndefined();
    const { secret, key, previous } = r.data.rotateKey;
    expect(secret).not.toBe(old.secret);
    expect(key).toMatchObject({ name: 'parent', permission: 'MANAGE', rateLimits: [{ limit: 7 }], predecessor: { id: old.key.id } });
    expect(previous).toMatchObject({ id: old.key.id, status: 'ROTATING', successor: { id: key.id } });
    const movedChild = await h.gql(`query($id: ID!) { key(id: $id) { parent { id } } }`, { id: child.key.id }, acct.secret);
    expect(movedChild.data.key.parent.id).toBe(key.id);
    expect((await h.verify({ key: child.secret })).body.code).toBe('VALID');

    clock.advance(59_000);
    expect((await h.verify({ key: old.secret, ip: '198.51.100.7' })).body.code).toBe('VALID');
    expect((await h.verify({ key: secret })).body.code).toBe('VALID');
    clock.advance(2_000);
    expect((await h.verify({ key: old.secret })).body.code).toBe('REVOKED');
    expect((await h.verify({ key: secret })).body.code).toBe('VALID');

    await h.app.uses.drain();
    const used = await h.db.prisma.securityEvent.findMany({ where: { keyId: old.key.id, kind: 'ROTATED_KEY_USED' } });
    expect(used.map((u) => u.ip)).toEqual(['198.51.100.7']);
  });

  test('a grace period of 0 stops the old key at once', async () => {
    const acct = await h.newAccount('rotate0');
    const old = await create(acct.secret, {});
    await h.verify({ key: old.secret });
    const r = await h.gql(`mutation($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 0) { secret } }`, { id: old.key.id }, acct.secret);
    expect((await h.verify({ key: old.secret })).body.code).toBe('REVOKED');
    expect((await h.verify({ key: r.data.rotateKey.secret })).body.code).toBe('VALID');
  });

  test.each([
    ['a negative grace period', -1, 'BAD_USER_INPUT'],
    ['a grace period over 30 days', 31 * 86400, 'BAD_USER_INPUT'],
  ])('%s answers BAD_USER_INPUT', async (_l, grace, code) => {
    const acct = await h.newAccount('rotate-bad');
    const k = await create(acct.secret, {});
    const r = await h.gql(`mutation($id: ID!, $g: Int) { rotateKey(id: $id, gracePeriodSeconds: $g) { secret } }`, { id: k.key.id, g: grace }, acct.secret);
    expect(r.errors?.[0].extensions?.code).toBe(code);
    expect(await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId } })).toBe(2);
  });

  test('rotating a revoked key answers CONFLICT', async () => {
    const acct = await h.newAccount('rotate-revoked');
    const k = await create(acct.secret, {});
    await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: k.key.id }, acct.secret);
    const r = await h.gql(`mutation($id: ID!) { rotateKey(id: $id) { secret } }`, { id: k.key.id }, acct.secret);
    expect(r.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  test('an EMERGENCY key becomes rotation-due after a successful use and raises EMERGENCY_KEY_USED', async () => {
    const acct = await h.newAccount('emergency');
    const k = await create(acct.secret, { type: 'EMERGENCY', ipAllowlist: ['127.0.0.1'] });
    const before = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: k.key.id } });
    expect(before.rotationDueAt).toBeNull();
    expect((await h.verify({ key: k.secret, permission: 'FULL_ACCESS' })).body.code).toBe('VALID');
    await h.app.uses.drain();
    const after = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: k.key.id } });
    expect(after.rotationDueAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await h.db.prisma.securityEvent.count({ where: { keyId: k.key.id, kind: 'EMERGENCY_KEY_USED' } })).toBe(1);
  });
});

describe('bulk operations', () => {
  test('revokeKeys is all or nothing when one id is invalid', async () => {
    const acct = await h.newAccount('bulk');
    const keys = [await create(acct.secret, {}), await create(acct.secret, {})];
    const other = await h.newAccount('bulk-other');
    const theirs = await create(other.secret, {});
    for (const bad of [theirs.key.id, 'not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      const r = await h.gql(`mutation($ids: [ID!]!) { revokeKeys(ids: $ids) { id } }`, { ids: [keys[0].key.id, bad, keys[1].key.id] }, acct.secret);
      expect(r.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    expect(await h.db.prisma.apiKey.count({ where: { id: { in: keys.map((k) => k.key.id) }, status: 'REVOKED' } })).toBe(0);
    expect((await h.verify({ key: keys[0].secret })).body.code).toBe('VALID');
  });

  test.each([
    ['an empty list', []],
    ['a duplicate id', ['dup', 'dup']],
  ])('%s answers BAD_USER_INPUT', async (_l, ids) => {
    const acct = await h.newAccount('bulk-bad');
    const k = await create(acct.secret, {});
    const list = (ids as string[]).map(() => k.key.id);
    for (const op of ['revokeKeys(ids: $ids) { id }', 'rotateKeys(ids: $ids) { secret }', 'updateKeys(ids: $ids, input: { name: "x" }) { id }']) {
      const r = await h.gql(`mutation($ids: [ID!]!) { ${op} }`, { ids: list }, acct.secret);
      expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('updateKeys changes a group of keys at once; over the threshold it raises one BULK_OPERATION event', async () => {
    const acct = await h.newAccount('bulk-update');
    const keys = [];
    for (let i = 0; i < 11; i++) keys.push(await create(acct.secret, { name: `k${i}`, permission: 'EXECUTE' }));
    const r = await h.gql(`mutation($ids: [ID!]!) { updateKeys(ids: $ids, input: { permission: READ_ONLY }) { permission } }`, { ids: keys.map((k) => k.key.id) }, acct.secret);
    expect(r.errors).toBeUndefined();
    expect(r.data.updateKeys.map((k: any) => k.permission)).toEqual(Array(11).fill('READ_ONLY'));
    expect((await h.verify({ key: keys[3].secret, permission: 'EXECUTE' })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    expect(await h.db.prisma.securityEvent.count({ where: { accountId: acct.accountId, kind: 'BULK_OPERATION' } })).toBe(1);
  });

  test('rotateKeys rotates every key in one transaction', async () => {
    const acct = await h.newAccount('bulk-rotate');
    const keys = [await create(acct.secret, {}), await create(acct.secret, {})];
    const r = await h.gql(`mutation($ids: [ID!]!) { rotateKeys(ids: $ids, gracePeriodSeconds: 0) { secret previous { id } } }`, { ids: keys.map((k) => k.key.id) }, acct.secret);
    expect(r.errors).toBeUndefined();
    expect(r.data.rotateKeys.map((p: any) => p.previous.id)).toEqual(keys.map((k) => k.key.id));
    for (const k of keys) expect((await h.verify({ key: k.secret })).body.code).toBe('REVOKED');
    for (const p of r.data.rotateKeys) expect((await h.verify({ key: p.secret })).body.code).toBe('VALID');
  });

  test('revokeKeys accepts a parent and its child in one call', async () => {
    const acct = await h.newAccount('bulk-tree');
    const parent = await create(acct.secret, { permission: 'MANAGE' });
    const child = await deriveOk(acct.secret, parent.key.id, { permission: 'READ_ONLY' });
    const r = await h.gql(`mutation($ids: [ID!]!) { revokeKeys(ids: $ids) { status } }`, { ids: [parent.key.id, child.key.id] }, acct.secret);
    expect(r.errors).toBeUndefined();
    expect(r.data.revokeKeys).toEqual([{ status: 'REVOKED' }, { status: 'REVOKED' }]);
  });
});

test('exportConfiguration lists agents, workflows, key settings and webhook endpoints without secrets or digests', async () => {
  configureWebhooks({ encryptionKey: crypto.randomBytes(32) });
  const acct = await h.newAccount('export');
  await h.gql(`mutation { createAgent(input: { name: "exp-agent", upstreamUrl: "http://8.8.8.8:9/" }) { id } }`, {}, acct.secret);
  const k = await create(acct.secret, { name: 'exported' });
  const hook = await h.gql(`mutation { createWebhookEndpoint(input: { url: "https://8.8.8.8/hook", eventTypes: ["key.*"] }) { secret endpoint { id } } }`, {}, acct.secret);
  expect(hook.errors).toBeUndefined();
  const r = await h.gql(`{ exportConfiguration }`, {}, acct.secret);
  const out = r.data.exportConfiguration;
  expect(out.version).toBe(1);
  expect(out.agents.map((a: any) => a.name)).toEqual(['exp-agent']);
  expect(out.keys.map((x: any) => x.name).sort()).toEqual(['exported', 'master']);
  expect(out.webhookEndpoints).toEqual([expect.objectContaining({ url: 'https://8.8.8.8/hook', eventTypes: ['key.*'] })]);
  const text = JSON.stringify(out);
  const digests = await h.db.prisma.apiKey.findMany({ where: { accountId: acct.accountId }, select: { digest: true } });
  expect(text).not.toContain(k.secret);
  expect(text).not.toContain(acct.secret);
  for (const d of digests) expect(text).not.toContain(d.digest);
  expect(text).not.toContain('"digest"');
  expect(text).not.toContain(hook.data.createWebhookEndpoint.secret);
  expect(text).not.toMatch(/whsec_|encrypted|ciphertext/i);
});
