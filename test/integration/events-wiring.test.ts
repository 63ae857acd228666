import { revokeLeakedKeys } from '../../src/keys/leaked';
import { runScan } from '../../workers/scheduled';
import { startHarness, type Harness } from '../helpers/harness';

// Events that cross modules: a leaked key is announced to subscribers, high-privilege keys raise
// KEY_CREATED, and the workers' usage flush moves tallies into rollups.

let h: Harness;
// Its own Redis prefix: the usage flush drains every tally under a prefix, and other test files
// flush theirs at the same time.
const prefix = `${process.env.KEYWARDEN_REDIS_PREFIX}-wiring`;
beforeAll(async () => {
  h = await startHarness({ app: { prefix } });
});
afterAll(() => h.close());

async function key(secret: string, input: Record<string, unknown>) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'e', type: 'PRODUCTION', ...input } }, secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}

test('a leaked key is revoked and a key.leaked event is written to the outbox with the revocation', async () => {
  const acct = await h.newAccount('leak-event');
  const k = await key(acct.secret, {});
  await revokeLeakedKeys(h.db, { secrets: [k.secret], source: 'paste-site', url: 'https://example.test/p/1', ip: '198.51.100.4' });
  const events = await h.db.prisma.outboxEvent.findMany({ where: { accountId: acct.accountId, type: 'key.leaked' } });
  expect(events).toHaveLength(1);
  expect(events[0].data).toMatchObject({ key: { id: k.id }, source: 'paste-site', url: 'https://example.test/p/1' });
  expect(JSON.stringify(events[0].data)).not.toContain(k.secret);
});

test('creating a FULL_ACCESS or EMERGENCY key raises KEY_CREATED; an ordinary key does not', async () => {
  const acct = await h.newAccount('key-created');
  const full = await key(acct.secret, { permission: 'FULL_ACCESS' });
  const emergency = await key(acct.secret, { type: 'EMERGENCY', ipAllowlist: ['10.0.0.1'] });
  const plain = await key(acct.secret, { permission: 'EXECUTE' });
  const kinds = await h.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, kind: 'KEY_CREATED' }, select: { keyId: true, severity: true } });
  expect(kinds.map((k) => k.keyId).sort()).toEqual([full.id, emergency.id].sort());
  expect(kinds.every((k) => k.severity === 'MEDIUM')).toBe(true);
  expect(kinds.some((k) => k.keyId === plain.id)).toBe(false);
});

test("the workers' flush-usage scan moves Redis tallies into rollups", async () => {
  const acct = await h.newAccount('flush-scan');
  const k = await key(acct.secret, {});
  for (let i = 0; i < 4; i++) await h.verify({ key: k.secret });
  await h.app.usage.flush();
  const result = await runScan('flush-usage', { db: h.db, redis: h.redis, redisPrefix: prefix } as never);
  expect(result.rollups).toBeGreaterThanOrEqual(1);
  const rollup = await h.db.prisma.usageRollup.findFirstOrThrow({ where: { keyId: k.id } });
  expect(rollup.requests).toBe(4);
});
