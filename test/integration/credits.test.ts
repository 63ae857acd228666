import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok } from '../helpers/gql-fixtures';

// Credits: a lifetime budget spent by `cost`, exact across instances, never below zero.

const GET_CREDITS = 'query($id: ID!) { key(id: $id) { credits { remaining refill { amount interval day } } } }';
const UPDATE_KEY = 'mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { credits { remaining } } }';

let h: Harness;
let h2: Harness;
beforeAll(async () => {
  h = await startHarness();
  h2 = await startHarness({ db: h.db });
});
afterAll(async () => {
  await h2.close();
  await h.close();
});

test('concurrent verifications over two instances: exactly N succeed, then CREDITS_EXHAUSTED', async () => {
  const acct = await h.newAccount('cred');
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', credits: { remaining: 5, refill: { amount: 5, interval: 'MONTHLY', day: 3 } } });
  const answers = await Promise.all(Array.from({ length: 14 }, (_, i) => (i % 2 ? h : h2).verify({ key: key.secret })));
  const codes = answers.map((a) => a.body.code);
  expect(codes.filter((c) => c === 'VALID')).toHaveLength(5);
  expect(codes.filter((c) => c === 'CREDITS_EXHAUSTED')).toHaveLength(9);
  expect(answers.every((a) => a.body.credits.remaining >= 0)).toBe(true);
  expect(ok(await h.gql(GET_CREDITS, { id: key.key.id }, acct.secret)).key.credits).toEqual({ remaining: 0, refill: { amount: 5, interval: 'MONTHLY', day: 3 } });
});

test('cost spends units; a request that would go below zero is refused and spends nothing', async () => {
  const acct = await h.newAccount('credc');
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', credits: { remaining: 10 } });
  const spend = async (cost: number) => (await h.verify({ key: key.secret, cost })).body;
  expect(await spend(4)).toMatchObject({ code: 'VALID', credits: { remaining: 6 } });
  expect(await spend(4)).toMatchObject({ code: 'VALID', credits: { remaining: 2 } });
  expect(await spend(4)).toMatchObject({ code: 'CREDITS_EXHAUSTED', valid: false, credits: { remaining: 2 } });
  expect(await spend(2)).toMatchObject({ code: 'VALID', credits: { remaining: 0 } });
  // A new budget starts the count again.
  expect(ok(await h.gql(UPDATE_KEY, { id: key.key.id, input: { credits: { remaining: 3 } } }, acct.secret)).updateKey.credits).toEqual({ remaining: 3 });
  let body: any;
  for (let i = 0; i < 50; i++) {
    body = await spend(1);
    if (body.code === 'VALID') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(body).toMatchObject({ code: 'VALID', credits: { remaining: 2 } });
});

test('key.credits_low goes out once when remaining falls below 10% of the budget', async () => {
  const acct = await h.newAccount('credl');
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', credits: { remaining: 20 } });
  const events = () => h.db.prisma.outboxEvent.findMany({ where: { accountId: acct.accountId, type: 'key.credits_low' } });
  await h.verify({ key: key.secret, cost: 18 });
  expect(await events()).toHaveLength(0);
  await h.verify({ key: key.secret, cost: 1 }); // 1 left: below 2
  await h2.verify({ key: key.secret, cost: 1 });
  let found: any[] = [];
  for (let i = 0; i < 50 && found.length === 0; i++) {
    found = await events();
    if (found.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  expect(found).toHaveLength(1);
  expect(found[0].data).toMatchObject({ keyId: key.key.id, remaining: 1, budget: 20 });
});

test('bad credits name the field and write nothing', async () => {
  const acct = await h.newAccount('credb');
  const create = 'mutation($input: CreateKeyInput!) { createKey(input: $input) { secret } }';
  expectError(await h.gql(create, { input: { name: 'k', type: 'PRODUCTION', credits: { remaining: -1 } } }, acct.secret), 'BAD_USER_INPUT', 'input.credits.remaining');
  expectError(await h.gql(create, { input: { name: 'k', type: 'PRODUCTION', credits: { remaining: 5, refill: { amount: 5, interval: 'MONTHLY', day: 29 } } } }, acct.secret), 'BAD_USER_INPUT', 'input.credits.refill.day');
  expectError(await h.gql(create, { input: { name: 'k', type: 'PRODUCTION', credits: { remaining: 5, refill: { amount: 0, interval: 'DAILY' } } } }, acct.secret), 'BAD_USER_INPUT', 'input.credits.refill.amount');
  expect(await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId } })).toBe(1);
});

test('a derived key holds no more credits than its parent: EXCEEDS_PARENT naming the field, PRIVILEGE_ESCALATION, nothing written', async () => {
  const acct = await h.newAccount('credp');
  const derive = 'mutation($parentId: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $parentId, input: $input) { key { id credits { remaining refill { amount interval } } } } }';
  const parent = await createKey(h, acct.secret, { name: 'p', type: 'PRODUCTION', permission: 'MANAGE', credits: { remaining: 100, refill: { amount: 50, interval: 'MONTHLY' } } });
  const tryDerive = (credits: unknown) => h.gql(derive, { parentId: parent.key.id, input: { name: 'c', type: 'PRODUCTION', credits } }, acct.secret);
  expectError(await tryDerive(undefined), 'EXCEEDS_PARENT', 'input.credits');
  expectError(await tryDerive({ remaining: 101 }), 'EXCEEDS_PARENT', 'input.credits.remaining');
  expectError(await tryDerive({ remaining: 10, refill: { amount: 51, interval: 'MONTHLY' } }), 'EXCEEDS_PARENT', 'input.credits.refill');
  expectError(await tryDerive({ remaining: 10, refill: { amount: 5, interval: 'DAILY' } }), 'EXCEEDS_PARENT', 'input.credits.refill');
  expect(await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId } })).toBe(2);
  expect(await h.db.prisma.securityEvent.count({ where: { accountId: acct.accountId, kind: 'PRIVILEGE_ESCALATION' } })).toBe(4);

  const child = ok(await tryDerive({ remaining: 100, refill: { amount: 50, interval: 'MONTHLY' } })).deriveKey.key;
  expect(child.credits).toEqual({ remaining: 100, refill: { amount: 50, interval: 'MONTHLY' } });
  // Raising the child's credits later is refused the same way; lowering them is fine.
  expectError(await h.gql(UPDATE_KEY, { id: child.id, input: { credits: { remaining: 500 } } }, acct.secret), 'EXCEEDS_PARENT', 'input.credits.remaining');
  expectError(await h.gql(UPDATE_KEY, { id: child.id, input: { credits: null } }, acct.secret), 'EXCEEDS_PARENT', 'input.credits');
  expect(ok(await h.gql(UPDATE_KEY, { id: child.id, input: { credits: { remaining: 3 } } }, acct.secret)).updateKey.credits).toEqual({ remaining: 3 });
  // A parent without credits leaves its children free to have them.
  const free = await createKey(h, acct.secret, { name: 'f', type: 'PRODUCTION', permission: 'MANAGE' });
  ok(await h.gql(derive, { parentId: free.key.id, input: { name: 'fc', type: 'PRODUCTION', credits: { remaining: 5 } } }, acct.secret));
});

test("a rotated key's successor keeps the credits budget and refill schedule, counted on its own", async () => {
  const acct = await h.newAccount('credr');
  const key = await createKey(h, acct.secret, { name: 'k', type: 'PRODUCTION', credits: { remaining: 6, refill: { amount: 6, interval: 'DAILY' } } });
  expect((await h.verify({ key: key.secret, cost: 4 })).body).toMatchObject({ code: 'VALID', credits: { remaining: 2 } });
  const rotated = ok(await h.gql('mutation($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 0) { secret key { id } } }', { id: key.key.id }, acct.secret)).rotateKey;
  expect(ok(await h.gql(GET_CREDITS, { id: rotated.key.id }, acct.secret)).key.credits).toEqual({ remaining: 6, refill: { amount: 6, interval: 'DAILY', day: null } });
  const spend = async (cost: number) => (await h.verify({ key: rotated.secret, cost })).body;
  expect(await spend(6)).toMatchObject({ code: 'VALID', credits: { remaining: 0 } });
  expect(await spend(1)).toMatchObject({ code: 'CREDITS_EXHAUSTED' });
  const [before, after] = await Promise.all([key.key.id, rotated.key.id].map((id) => h.db.prisma.apiKey.findUniqueOrThrow({ where: { id } })));
  expect(after.creditsRefillDueAt).toEqual(before.creditsRefillDueAt);
});
