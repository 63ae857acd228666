import { refillDueCredits } from '../../src/keys/credits-refill';
import { createKey, ok } from '../helpers/gql-fixtures';
import type { Harness } from '../helpers/harness';
import { eventually, isolatedPrefix, startIsolatedHarness, startTestWorkers, type IsolatedHarness } from '../helpers/webhooks';

// The credits refill: a BullMQ scheduled scan sets each due key's budget to its refill amount in
// a new epoch, once per period, audited, and lets key.credits_low go out again.

jest.setTimeout(60_000);

const GET_CREDITS = 'query($id: ID!) { key(id: $id) { credits { remaining } } }';

let stack: IsolatedHarness;
let h: Harness;
beforeAll(async () => {
  stack = await startIsolatedHarness('refill');
  ({ h } = stack);
});
afterAll(() => stack.close());

const remaining = async (secret: string, id: string) => ok(await h.gql(GET_CREDITS, { id }, secret)).key.credits.remaining as number;
const dueAt = async (id: string) => (await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id } })).creditsRefillDueAt;
const makeDue = (id: string) => h.db.prisma.apiKey.update({ where: { id }, data: { creditsRefillDueAt: new Date(Date.now() - 60_000) } });
const refillAudits = (accountId: string, id: string) => h.db.prisma.auditEvent.findMany({ where: { accountId, action: 'key.credits_refill', targetId: id } });
const lowEvents = (accountId: string) => h.db.prisma.outboxEvent.findMany({ where: { accountId, type: 'key.credits_low' } });

/** Verifies until the instance counts the key's current budget (its cache follows the refill's invalidation). */
async function spendOnce(secret: string, cost: number) {
  return eventually(
    async () => {
      const { body } = await h.verify({ key: secret, cost });
      return body.code === 'VALID' && body;
    },
    5000,
    'a verification against the refilled budget',
  );
}

test('a due refill (worker scan through BullMQ) sets remaining to the amount; keys not due keep what is left', async () => {
  const acct = await h.newAccount('refill');
  const daily = await createKey(h, acct.secret, { name: 'daily', type: 'PRODUCTION', credits: { remaining: 20, refill: { amount: 20, interval: 'DAILY' } } });
  const monthly = await createKey(h, acct.secret, { name: 'monthly', type: 'PRODUCTION', credits: { remaining: 20, refill: { amount: 30, interval: 'MONTHLY', day: 28 } } });
  const plain = await createKey(h, acct.secret, { name: 'plain', type: 'PRODUCTION', credits: { remaining: 20 } });
  // Setting the budget counts as this period's refill: the next is due at the next boundary.
  const now = new Date();
  expect((await dueAt(daily.key.id))?.toISOString()).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString());
  expect((await dueAt(monthly.key.id))!.getUTCDate()).toBe(28);
  expect(await dueAt(plain.key.id)).toBeNull();

  for (const k of [daily, monthly, plain]) expect((await h.verify({ key: k.secret, cost: 19 })).body).toMatchObject({ code: 'VALID', credits: { remaining: 1 } });
  await eventually(async () => (await lowEvents(acct.accountId)).length === 3, 5000, 'three key.credits_low');

  await makeDue(daily.key.id);
  const workers = await startTestWorkers({ db: h.db, prefix: isolatedPrefix('refill'), settings: { scanIntervalSeconds: 1 } });
  try {
    await eventually(async () => (await remaining(acct.secret, daily.key.id)) === 20, 15_000, 'the daily key refilled');
  } finally {
    await workers.close();
  }
  expect(await remaining(acct.secret, monthly.key.id)).toBe(1);
  expect(await remaining(acct.secret, plain.key.id)).toBe(1);
  expect((await dueAt(daily.key.id))!.getTime()).toBeGreaterThan(Date.now());

  const [audit] = await refillAudits(acct.accountId, daily.key.id);
  expect(audit).toMatchObject({ actorKeyId: null, targetType: 'ApiKey' });
  expect(audit.after).toMatchObject({ credits: { budget: 20, period: now.toISOString().slice(0, 10) } });

  // The new budget is counted from zero, and its own key.credits_low goes out once again.
  expect(await spendOnce(daily.secret, 19)).toMatchObject({ credits: { remaining: 1 } });
  await eventually(async () => (await lowEvents(acct.accountId)).length === 4, 5000, 'a second key.credits_low');
  expect((await lowEvents(acct.accountId)).filter((e) => (e.data as { keyId: string }).keyId === daily.key.id)).toHaveLength(2);
});

test('running the refill twice (and at once) for the same period refills once', async () => {
  const acct = await h.newAccount('refill2');
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', credits: { remaining: 5, refill: { amount: 8, interval: 'MONTHLY', day: 1 } } });
  expect((await h.verify({ key: key.secret, cost: 4 })).body).toMatchObject({ code: 'VALID', credits: { remaining: 1 } });
  await makeDue(key.key.id);
  const first = await Promise.all([refillDueCredits(h.db), refillDueCredits(h.db), refillDueCredits(h.db)]);
  expect(first.reduce((a, b) => a + b, 0)).toBe(1);
  expect(await refillDueCredits(h.db)).toBe(0);
  expect(await remaining(acct.secret, key.key.id)).toBe(8);
  expect(await spendOnce(key.secret, 3)).toMatchObject({ credits: { remaining: 5 } });
  // Later in the same period: nothing is due, what was spent stays spent.
  expect(await refillDueCredits(h.db, { now: new Date(Date.now() + 60_000) })).toBe(0);
  expect(await remaining(acct.secret, key.key.id)).toBe(5);
  expect(await refillAudits(acct.accountId, key.key.id)).toHaveLength(1);
});

test('a revoked key is not refilled; removing credits stops the schedule', async () => {
  const acct = await h.newAccount('refill3');
  const revoked = await createKey(h, acct.secret, { name: 'r', type: 'PRODUCTION', credits: { remaining: 5, refill: { amount: 5, interval: 'DAILY' } } });
  const cleared = await createKey(h, acct.secret, { name: 'c', type: 'PRODUCTION', credits: { remaining: 5, refill: { amount: 5, interval: 'DAILY' } } });
  ok(await h.gql('mutation($id: ID!) { revokeKey(id: $id) { id } }', { id: revoked.key.id }, acct.secret));
  ok(await h.gql('mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id } }', { id: cleared.key.id, input: { credits: null } }, acct.secret));
  expect(await dueAt(cleared.key.id)).toBeNull();
  await makeDue(revoked.key.id);
  expect(await refillDueCredits(h.db)).toBe(0);
  expect(await refillAudits(acct.accountId, revoked.key.id)).toHaveLength(0);
});
