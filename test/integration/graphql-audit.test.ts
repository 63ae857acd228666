import { startHarness, type Harness } from '../helpers/harness';
import { CREATE_KEY, REVOKE_KEY, UPDATE_KEY, accountCounts, allAuditEvents, createAgent, createGroup, createKey, createWorkflow, expectError, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: every mutation writes an audit event (actor key, action, target, before, after) in the
// same transaction as the change; the events form a hash chain that verifyAuditChain checks.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const VERIFY_CHAIN = `{ verifyAuditChain { valid checked firstBrokenSequence } }`;

/** Runs `mutate` and returns the audit events it added (oldest first), checking they are contiguous. */
async function auditOf(secret: string, accountId: string, mutate: () => Promise<void>): Promise<any[]> {
  const before = await accountCounts(h, accountId);
  await mutate();
  const events = (await allAuditEvents(h, secret)).filter((e) => e.sequence > before.auditSequence).reverse();
  // Sequence numbers continue the chain one by one.
  expect(events.map((e) => e.sequence)).toEqual(events.map((_e, i) => before.auditSequence + 1 + i));
  return events;
}

describe('each mutation writes exactly one audit event for the object it changed', () => {
  let acct: Awaited<ReturnType<Harness['newAccount']>>;
  let agent: any;
  let keyId: string;
  const seen: any[] = [];

  beforeAll(async () => {
    acct = await h.newAccount('audit');
  });

  test('createAgent writes one agent.create by the calling key, with the agent as after', async () => {
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      agent = await createAgent(h, acct.secret, { name: 'audited-agent', upstreamUrl: 'https://agent.example.com/api' });
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'agent.create', actor: { id: acct.keyId }, targetType: 'Agent', targetId: agent.id, before: null });
    expect(events[0].after).toMatchObject({ id: agent.id, name: 'audited-agent', upstreamUrl: 'https://agent.example.com/api' });
    seen.push(...events);
  });

  test('createAgentGroup writes one agentGroup.create naming its agents', async () => {
    let group: any;
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      group = await createGroup(h, acct.secret, { name: 'audited-group', agentIds: [agent.id] });
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'agentGroup.create', actor: { id: acct.keyId }, targetType: 'AgentGroup', targetId: group.id, before: null });
    expect(events[0].after).toMatchObject({ id: group.id, name: 'audited-group', agentIds: [agent.id] });
    seen.push(...events);
  });

  test('createWorkflow writes one workflow.create naming its agents', async () => {
    let wf: any;
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      wf = await createWorkflow(h, acct.secret, { name: 'audited-workflow', agentIds: [agent.id] });
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'workflow.create', actor: { id: acct.keyId }, targetType: 'Workflow', targetId: wf.id, before: null });
    expect(events[0].after).toMatchObject({ id: wf.id, name: 'audited-workflow', agentIds: [agent.id] });
    seen.push(...events);
  });

  test('createKey writes one key.create with the settings as after and no secret or digest', async () => {
    let created: { secret: string; key: any } | undefined;
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      created = await createKey(h, acct.secret, { name: 'audited-key', type: 'PRODUCTION', scope: { kind: 'SINGLE_AGENT', agentId: agent.id } });
    });
    keyId = created!.key.id;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'key.create', actor: { id: acct.keyId }, targetType: 'ApiKey', targetId: keyId, before: null });
    expect(events[0].after).toMatchObject({
      id: keyId,
      name: 'audited-key',
      start: created!.key.start,
      type: 'PRODUCTION',
      permission: 'EXECUTE',
      status: 'ACTIVE',
      scope: { kind: 'SINGLE_AGENT', agentId: agent.id },
    });
    const text = JSON.stringify(events[0]);
    expect(text).not.toContain(created!.secret);
    expect(events[0].after).not.toHaveProperty('digest');
    seen.push(...events);
  });

  test('updateKey writes one key.update whose before holds the old values and after the new', async () => {
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      ok(await h.gql(UPDATE_KEY, { id: keyId, input: { name: 'audited-key-renamed', ipAllowlist: ['198.51.100.0/24'], rateLimits: [{ window: 'HOUR', limit: 500 }] } }, acct.secret));
    });
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e).toMatchObject({ action: 'key.update', actor: { id: acct.keyId }, targetType: 'ApiKey', targetId: keyId });
    expect(e.before).toMatchObject({ id: keyId, name: 'audited-key', ipAllowlist: [], rateLimits: [{ window: 'MINUTE', limit: 6000 }] });
    expect(e.after).toMatchObject({ id: keyId, name: 'audited-key-renamed', ipAllowlist: ['198.51.100.0/24'], rateLimits: [{ window: 'HOUR', limit: 500 }] });
    // Untouched settings are the same on both sides.
    expect(e.after.permission).toBe(e.before.permission);
    expect(e.after.scope).toEqual(e.before.scope);
    seen.push(...events);
  });

  test('revokeKey writes one key.revoke whose after shows REVOKED with the reason', async () => {
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      ok(await h.gql(REVOKE_KEY, { id: keyId, reason: 'rotated out by audit test' }, acct.secret));
    });
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e).toMatchObject({ action: 'key.revoke', actor: { id: acct.keyId }, targetType: 'ApiKey', targetId: keyId });
    expect(e.before).toMatchObject({ id: keyId, status: 'ACTIVE', revokedAt: null, revokedReason: null });
    expect(e.after).toMatchObject({ id: keyId, status: 'REVOKED', revokedReason: 'rotated out by audit test' });
    expect(typeof e.after.revokedAt).toBe('string');
    seen.push(...events);
  });

  test("a MANAGE key's refused update of the master writes nothing, and nothing is attributed to it", async () => {
    const manager = await createKey(h, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
    const events = await auditOf(acct.secret, acct.accountId, async () => {
      expectError(await h.gql(UPDATE_KEY, { id: acct.keyId, input: { name: 'x' } }, manager.secret), 'NOT_FOUND');
    });
    expect(events).toEqual([]);
    const byActor = await allAuditEvents(h, acct.secret, { actorKeyId: manager.key.id });
    expect(byActor).toEqual([]);
  });

  test('the chain of all these events verifies, with one event per sequence number', async () => {
    const all = (await allAuditEvents(h, acct.secret)).reverse();
    expect(all.map((e) => e.sequence)).toEqual(all.map((_e, i) => i + 1));
    for (const e of seen) expect(all.find((x) => x.id === e.id)).toEqual(e);
    expect(new Set(all.map((e) => e.hash)).size).toBe(all.length);
    expect(ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain).toEqual({ valid: true, checked: all.length, firstBrokenSequence: null });
  });

  test('auditEvents filters by action and target', async () => {
    const revokes = await allAuditEvents(h, acct.secret, { action: 'key.revoke' });
    expect(revokes.map((e) => e.targetId)).toEqual([keyId]);
    const forKey = await allAuditEvents(h, acct.secret, { targetId: keyId });
    expect(forKey.map((e) => e.action)).toEqual(['key.revoke', 'key.update', 'key.create']);
  });
});

describe('failed mutations write no audit event', () => {
  test.each([
    ['createKey with bad input', (s: string) => h.gql(CREATE_KEY, { input: { name: ' ', type: 'DEVELOPMENT' } }, s), 'BAD_USER_INPUT'],
    ['createAgent with a bad URL', (s: string) => h.gql(`mutation { createAgent(input: { name: "a", upstreamUrl: "ftp://x" }) { id } }`, {}, s), 'BAD_USER_INPUT'],
    ['createAgentGroup with an unknown agent', (s: string) => h.gql(`mutation { createAgentGroup(input: { name: "g", agentIds: ["5b0f7a4e-0c1d-4e0a-9a51-3f2f4c8f1e77"] }) { id } }`, {}, s), 'BAD_USER_INPUT'],
    ['updateKey of an unknown key', (s: string) => h.gql(UPDATE_KEY, { id: '5b0f7a4e-0c1d-4e0a-9a51-3f2f4c8f1e77', input: { name: 'x' } }, s), 'NOT_FOUND'],
    ['revokeKey of the last master key', (s: string, keyId: string) => h.gql(REVOKE_KEY, { id: keyId }, s), 'CONFLICT'],
  ] as const)('%s', async (_what, send, code) => {
    const acct = await h.newAccount('audit-fail');
    const before = await accountCounts(h, acct.accountId);
    expectError(await send(acct.secret, acct.keyId), code);
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
    expect(ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain).toEqual({ valid: true, checked: before.audit, firstBrokenSequence: null });
  });

  test('a duplicate agent name (CONFLICT after the insert was tried) leaves the chain as it was', async () => {
    const acct = await h.newAccount('audit-dup');
    await createAgent(h, acct.secret, { name: 'twin' });
    const before = await accountCounts(h, acct.accountId);
    expectError(await h.gql(`mutation { createAgent(input: { name: "twin" }) { id } }`, {}, acct.secret), 'CONFLICT');
    expect(await accountCounts(h, acct.accountId)).toEqual(before);
    // The next event continues right after the last one.
    await createAgent(h, acct.secret, { name: 'twin-2' });
    expect((await accountCounts(h, acct.accountId)).auditSequence).toBe(before.auditSequence + 1);
    expect(ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain.valid).toBe(true);
  });
});

describe('tampering', () => {
  test("changing one audit row's after makes verifyAuditChain invalid at that row's sequence", async () => {
    const acct = await h.newAccount('audit-tamper');
    const agent = await createAgent(h, acct.secret, { name: 'tamper-agent' });
    const { key } = await createKey(h, acct.secret, { name: 'tamper-key', type: 'DEVELOPMENT' });
    ok(await h.gql(UPDATE_KEY, { id: key.id, input: { name: 'tamper-key-2' } }, acct.secret));
    await createWorkflow(h, acct.secret, { name: 'tamper-wf', agentIds: [agent.id] });
    const all = await allAuditEvents(h, acct.secret);
    expect(ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain).toEqual({ valid: true, checked: all.length, firstBrokenSequence: null });

    const victim = all.find((e) => e.action === 'key.create' && e.targetId === key.id);
    expect(victim).toBeDefined();
    expect(victim.sequence).toBeLessThan(all[0].sequence); // not the last one: later rows still link to it
    const changed = await h.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "after" = jsonb_set("after"::jsonb, '{permission}', '"FULL_ACCESS"') WHERE "id" = $1::uuid`, victim.id);
    expect(changed).toBe(1);
    const tampered = ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain;
    expect(tampered).toEqual({ valid: false, checked: victim.sequence - 1, firstBrokenSequence: victim.sequence });
  });

  test('deleting the newest audit row makes verifyAuditChain invalid', async () => {
    const acct = await h.newAccount('audit-truncate');
    await createAgent(h, acct.secret, { name: 'a1' });
    await createAgent(h, acct.secret, { name: 'a2' });
    const all = await allAuditEvents(h, acct.secret);
    await h.db.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE "id" = $1::uuid`, all[0].id);
    const status = ok(await h.gql(VERIFY_CHAIN, {}, acct.secret)).verifyAuditChain;
    expect(status).toEqual({ valid: false, checked: all.length - 1, firstBrokenSequence: all[0].sequence });
  });

  test("tampering with one account's log leaves another account's chain valid", async () => {
    const a = await h.newAccount('audit-iso-a');
    const b = await h.newAccount('audit-iso-b');
    await createAgent(h, a.secret, { name: 'x' });
    await h.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "action" = 'agent.delete' WHERE "accountId" = $1::uuid AND "action" = 'agent.create'`, a.accountId);
    expect(ok(await h.gql(VERIFY_CHAIN, {}, a.secret)).verifyAuditChain.valid).toBe(false);
    expect(ok(await h.gql(VERIFY_CHAIN, {}, b.secret)).verifyAuditChain).toEqual({ valid: true, checked: 2, firstBrokenSequence: null });
  });
});
