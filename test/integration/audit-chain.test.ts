import { hashAuditEvent } from '../../src/audit/chain';
import { startHarness, type Harness } from '../helpers/harness';
import { REVOKE_KEY, allAuditEvents, createAgent, createKey, expectError, ok, AUDIT_EVENTS } from '../helpers/gql-fixtures';

// The audit log as evidence (README, Admin API rules): verifyAuditChain finds a row altered or removed straight
// in SQL, at the first sequence that no longer holds; auditEvents filters by key and time range.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const VERIFY_CHAIN = `{ verifyAuditChain { valid checked firstBrokenSequence } }`;

/** A fresh account with a few audited changes; returns its audit rows oldest first. */
async function auditedAccount(label: string) {
  const acct = await h.newAccount(label);
  await createAgent(h, acct.secret, { name: 'a1' });
  const k = await createKey(h, acct.secret, { name: 'k1', type: 'PRODUCTION' });
  await createKey(h, acct.secret, { name: 'k2', type: 'DEVELOPMENT' });
  ok(await h.gql(REVOKE_KEY, { id: k.key.id, reason: 'test' }, acct.secret));
  const rows = await h.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId }, orderBy: { sequence: 'asc' } });
  return { acct, rows };
}

test('an untouched chain is valid and every row is checked', async () => {
  const { acct, rows } = await auditedAccount('chain-ok');
  expect(ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain).toEqual({ valid: true, checked: rows.length, firstBrokenSequence: null });
});

test("a row whose after was changed in SQL breaks the chain at that row's sequence", async () => {
  const { acct, rows } = await auditedAccount('chain-update');
  const victim = rows.find((r) => r.action === 'key.create' && (r.after as any)?.name === 'k1')!;
  const changed = await h.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "after" = jsonb_set("after", '{name}', '"k1-tampered"') WHERE id = $1::uuid`, victim.id);
  expect(changed).toBe(1);
  const status = ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain;
  expect(status).toEqual({ valid: false, checked: victim.sequence - 1, firstBrokenSequence: victim.sequence });
});

test('a row changed with its own hash recomputed breaks the chain at the next row', async () => {
  const { acct, rows } = await auditedAccount('chain-rehash');
  const victim = rows[1];
  // An attacker who also rewrites the row's hash leaves the next row's prevHash naming the old one.
  const forged = hashAuditEvent({ ...victim, ip: '203.0.113.66' });
  await h.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "ip" = '203.0.113.66', "hash" = $2 WHERE id = $1::uuid`, victim.id, forged);
  const status = ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain;
  expect(status).toEqual({ valid: false, checked: victim.sequence, firstBrokenSequence: victim.sequence + 1 });
});

test('deleting the last row is a break at its sequence', async () => {
  const { acct, rows } = await auditedAccount('chain-delete-last');
  const last = rows[rows.length - 1];
  expect(await h.db.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE id = $1::uuid`, last.id)).toBe(1);
  const status = ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain;
  expect(status).toEqual({ valid: false, checked: rows.length - 1, firstBrokenSequence: last.sequence });
});

test('deleting a row in the middle is a break at its sequence', async () => {
  const { acct, rows } = await auditedAccount('chain-delete-middle');
  const middle = rows[2];
  await h.db.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE id = $1::uuid`, middle.id);
  const status = ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain;
  expect(status).toEqual({ valid: false, checked: middle.sequence - 1, firstBrokenSequence: middle.sequence });
});

test("tampering with one account's log leaves another account's chain valid", async () => {
  const a = await auditedAccount('chain-a');
  const b = await auditedAccount('chain-b');
  await h.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "action" = 'key.nothing' WHERE id = $1::uuid`, a.rows[0].id);
  expect(ok(await h.gql(VERIFY_CHAIN, {}, a.acct.secret)).verifyAuditChain.valid).toBe(false);
  expect(ok(await h.gql(VERIFY_CHAIN, {}, b.acct.secret)).verifyAuditChain).toEqual({ valid: true, checked: b.rows.length, firstBrokenSequence: null });
});

describe('auditEvents filters', () => {
  let acct: Awaited<ReturnType<Harness['newAccount']>>;
  let manager: { secret: string; key: any };
  let childId: string;
  let unrelatedId: string;

  beforeAll(async () => {
    acct = await h.newAccount('audit-filter');
    manager = await createKey(h, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'FULL_ACCESS' });
    unrelatedId = (await createKey(h, acct.secret, { name: 'unrelated', type: 'PRODUCTION' })).key.id;
    // The manager acts: derives a child and revokes it. Those events have the manager as actor.
    const derived = ok(await h.gql(`mutation($p: ID!, $i: CreateKeyInput!) { deriveKey(parentId: $p, input: $i) { key { id } } }`, { p: manager.key.id, i: { name: 'child', type: 'PRODUCTION' } }, manager.secret));
    childId = derived.deriveKey.key.id;
    ok(await h.gql(REVOKE_KEY, { id: childId }, manager.secret));
  });

  const summary = (events: any[]) => events.map((e) => [e.action, e.targetId, e.actor?.id ?? null]);

  test('keyId lists events about the key and events made by it, newest first', async () => {
    const events = await allAuditEvents(h, acct.secret, { keyId: manager.key.id });
    expect(summary(events)).toEqual([
      ['key.revoke', childId, manager.key.id],
      ['key.derive', childId, manager.key.id],
      ['key.create', manager.key.id, acct.keyId],
    ]);
  });

  test('keyId of a key that only was acted on lists only events about it', async () => {
    expect(summary(await allAuditEvents(h, acct.secret, { keyId: childId }))).toEqual([
      ['key.revoke', childId, manager.key.id],
      ['key.derive', childId, manager.key.id],
    ]);
    expect(summary(await allAuditEvents(h, acct.secret, { keyId: unrelatedId }))).toEqual([['key.create', unrelatedId, acct.keyId]]);
  });

  test('keyId combines with action', async () => {
    expect(summary(await allAuditEvents(h, acct.secret, { keyId: manager.key.id, action: 'key.derive' }))).toEqual([['key.derive', childId, manager.key.id]]);
  });

  test('a keyId that is not an id matches nothing rather than failing', async () => {
    expect(await allAuditEvents(h, acct.secret, { keyId: 'not-a-uuid' })).toEqual([]);
  });

  test('from and to bound createdAt inclusively', async () => {
    const all = await allAuditEvents(h, acct.secret);
    const derive = all.find((e) => e.action === 'key.derive');
    const only = await allAuditEvents(h, acct.secret, { from: derive.createdAt, to: derive.createdAt });
    expect(only.map((e) => e.id)).toEqual(all.filter((e) => e.createdAt === derive.createdAt).map((e) => e.id));
    expect(only.map((e) => e.id)).toContain(derive.id);
  });

  test('from after to answers BAD_USER_INPUT naming filter.from', async () => {
    const res = await h.gql(AUDIT_EVENTS, { first: 10, filter: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } }, acct.secret);
    expectError(res, 'BAD_USER_INPUT', 'filter.from');
  });

  test("another account's key id lists nothing", async () => {
    const other = await h.newAccount('audit-filter-other');
    expect(await allAuditEvents(h, other.secret, { keyId: manager.key.id })).toEqual([]);
  });
});
