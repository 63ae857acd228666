import { startHarness, type Harness } from '../helpers/harness';
import { DAY_MS, REVOKE_KEY, UPDATE_KEY, createKey, ok } from '../helpers/gql-fixtures';

// complianceStatus (README, Reports): each check counts exactly the usable keys that fail it (after
// inheritance where the rule depends on ancestors), lists them oldest first, and leaves revoked
// keys out; open security events are the unacknowledged ones.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const CHECKS = ['activeKeys', 'neverExpiringKeys', 'expiringSoonKeys', 'rotationOverdueKeys', 'productionKeysWithoutIpRestriction', 'highPrivilegeKeys', 'unusedKeys'] as const;
const STATUS = `{ complianceStatus { generatedAt
  ${CHECKS.map((c) => `${c} { count sampleKeyIds(first: 100) keys(first: 50) { edges { node { id name } } pageInfo { hasNextPage } } }`).join('\n')}
  openSecurityEvents { count critical high medium low sampleEventIds }
} }`;

let acct: Awaited<ReturnType<Harness['newAccount']>>;
const ids: Record<string, string> = {};
let status: any;

async function derive(parentId: string, input: Record<string, unknown>): Promise<string> {
  const r = ok(await h.gql(`mutation($p: ID!, $i: CreateKeyInput!) { deriveKey(parentId: $p, input: $i) { key { id } } }`, { p: parentId, i: input }, acct.secret));
  return r.deriveKey.key.id;
}

beforeAll(async () => {
  acct = await h.newAccount('compliance');
  ids.master = acct.keyId;
  const s = acct.secret;
  const make = async (name: string, input: Record<string, unknown>) => (ids[name] = (await createKey(h, s, { name, ...input } as never)).key.id);
  const set = (name: string, data: Record<string, unknown>) => h.db.prisma.apiKey.update({ where: { id: ids[name] }, data });

  await make('prodNoIp', { type: 'PRODUCTION', expiresIn: 'NEVER' });
  await make('prodWithIp', { type: 'PRODUCTION', ipAllowlist: ['203.0.113.0/24'] });
  // The parent gets an allowlist after the child was derived: the child is restricted through it.
  await make('lateIpParent', { type: 'PRODUCTION' });
  ids.lateIpChild = await derive(ids.lateIpParent, { name: 'lateIpChild', type: 'PRODUCTION' });
  ok(await h.gql(UPDATE_KEY, { id: ids.lateIpParent, input: { ipAllowlist: ['198.51.100.0/24'] } }, s));
  await make('expiringDev', { type: 'DEVELOPMENT' });
  ok(await h.gql(UPDATE_KEY, { id: ids.expiringDev, input: { expiresAt: new Date(Date.now() + 5 * DAY_MS).toISOString() } }, s));
  await make('laterDev', { type: 'DEVELOPMENT' }); // expires in 30 days: not soon
  await make('overdue', { type: 'INTEGRATION' });
  await set('overdue', { rotationDueAt: new Date(Date.now() - DAY_MS) });
  await make('manager', { type: 'INTEGRATION', permission: 'MANAGE' });
  // A MANAGE child under a parent narrowed to EXECUTE is EXECUTE in effect: not high-privilege.
  await make('narrowedParent', { type: 'INTEGRATION', permission: 'MANAGE' });
  ids.narrowedChild = await derive(ids.narrowedParent, { name: 'narrowedChild', type: 'INTEGRATION', permission: 'MANAGE' });
  ok(await h.gql(UPDATE_KEY, { id: ids.narrowedParent, input: { permission: 'EXECUTE' } }, s));
  await make('neverUsedOld', { type: 'INTEGRATION' });
  await set('neverUsedOld', { createdAt: new Date(Date.now() - 100 * DAY_MS) });
  await make('usedLongAgo', { type: 'INTEGRATION' });
  await set('usedLongAgo', { lastUsedAt: new Date(Date.now() - 91 * DAY_MS) });
  await make('oldButUsed', { type: 'INTEGRATION' });
  await set('oldButUsed', { createdAt: new Date(Date.now() - 100 * DAY_MS), lastUsedAt: new Date(Date.now() - DAY_MS) });
  // A revoked key fails several checks, and counts in none.
  await make('revoked', { type: 'PRODUCTION', permission: 'FULL_ACCESS', expiresIn: 'NEVER' });
  await set('revoked', { rotationDueAt: new Date(Date.now() - DAY_MS), createdAt: new Date(Date.now() - 200 * DAY_MS) });
  ok(await h.gql(REVOKE_KEY, { id: ids.revoked }, s));
  // Expired keys are not usable either.
  await make('expired', { type: 'PRODUCTION' });
  await set('expired', { expiresAt: new Date(Date.now() - 1000) });

  await h.db.prisma.securityEvent.updateMany({ where: { accountId: acct.accountId }, data: { acknowledgedAt: new Date() } });
  await h.db.prisma.securityEvent.createMany({
    data: [
      { accountId: acct.accountId, kind: 'KEY_LEAKED', severity: 'CRITICAL', createdAt: new Date(Date.now() - 3000) },
      { accountId: acct.accountId, kind: 'FAILED_AUTH_BURST', severity: 'HIGH', createdAt: new Date(Date.now() - 2000) },
      { accountId: acct.accountId, kind: 'GEO_ANOMALY', severity: 'HIGH', createdAt: new Date(Date.now() - 1000) },
      { accountId: acct.accountId, kind: 'USAGE_ANOMALY', severity: 'MEDIUM', acknowledgedAt: new Date() },
    ],
  });
  status = ok(await h.gql(STATUS, {}, s)).complianceStatus;
});

const names = (...n: string[]) => n.map((x) => ids[x]);
const usable = ['master', 'prodNoIp', 'prodWithIp', 'lateIpParent', 'lateIpChild', 'expiringDev', 'laterDev', 'overdue', 'manager', 'narrowedParent', 'narrowedChild', 'neverUsedOld', 'usedLongAgo', 'oldButUsed'];

/** Keys oldest first, as the checks list them (createdAt was moved back for some). */
async function oldestFirst(keyIds: string[]): Promise<string[]> {
  const rows = await h.db.prisma.apiKey.findMany({ where: { id: { in: keyIds } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true } });
  return rows.map((r) => r.id);
}

test.each<[string, (typeof CHECKS)[number], string[]]>([
  ['usable keys are active; revoked and expired ones are not', 'activeKeys', usable],
  ['keys without an expiry date never expire (the master key and an expiresIn NEVER key)', 'neverExpiringKeys', ['master', 'prodNoIp']],
  ['a key expiring in 5 days is expiring soon; one in 30 days is not', 'expiringSoonKeys', ['expiringDev']],
  ['a key past its rotation date is overdue', 'rotationOverdueKeys', ['overdue']],
  ['production keys with no allowlist on themselves or any ancestor lack an IP restriction', 'productionKeysWithoutIpRestriction', ['prodNoIp']],
  ['MANAGE/FULL_ACCESS in effect is high privilege; a MANAGE key under an EXECUTE parent is not', 'highPrivilegeKeys', ['master', 'manager']],
  ['never used and created 100 days ago, or last used 91 days ago, is unused; used yesterday is not', 'unusedKeys', ['neverUsedOld', 'usedLongAgo']],
])('%s', async (_label, check, expected) => {
  const want = await oldestFirst(names(...expected));
  expect(status[check].count).toBe(expected.length);
  expect(status[check].sampleKeyIds).toEqual(want);
  expect(status[check].keys.edges.map((e: any) => e.node.id)).toEqual(want);
});

test('open security events are the unacknowledged ones, by severity, newest first', async () => {
  const open = await h.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, acknowledgedAt: null }, orderBy: { createdAt: 'desc' }, select: { id: true } });
  expect(status.openSecurityEvents).toEqual({ count: 3, critical: 1, high: 2, medium: 0, low: 0, sampleEventIds: open.map((e) => e.id) });
});

test('sampleKeyIds gives the first few and keys pages through the rest', async () => {
  const r = ok(await h.gql(`{ complianceStatus { activeKeys { count sampleKeyIds(first: 3) keys(first: 5) { edges { node { id } } pageInfo { hasNextPage endCursor } } } } }`, {}, acct.secret));
  const all = await oldestFirst(names(...usable));
  expect(r.complianceStatus.activeKeys.sampleKeyIds).toEqual(all.slice(0, 3));
  const first = r.complianceStatus.activeKeys.keys;
  expect(first.edges.map((e: any) => e.node.id)).toEqual(all.slice(0, 5));
  expect(first.pageInfo.hasNextPage).toBe(true);
  const next = ok(await h.gql(`query($a: String) { complianceStatus { activeKeys { keys(first: 50, after: $a) { edges { node { id } } } } } }`, { a: first.pageInfo.endCursor }, acct.secret));
  expect(next.complianceStatus.activeKeys.keys.edges.map((e: any) => e.node.id)).toEqual(all.slice(5));
});

test('another account sees none of these keys', async () => {
  const other = await h.newAccount('compliance-other');
  const r = ok(await h.gql(STATUS, {}, other.secret)).complianceStatus;
  expect(r.activeKeys.sampleKeyIds).toEqual([other.keyId]);
  expect(r.openSecurityEvents.count).toBe(0);
});
