import { openDatabase, type Database } from '../../src/infra/db';
import { startHarness, type Harness } from '../helpers/harness';

// Two API instances in one test, sharing PostgreSQL and Redis as two processes would
// (separate caches, separate Redis connections, separate database pools).

/** Polls until `want` is answered or `ms` have passed (measured from the change); returns the last code. */
async function codeWithin(ms: number, verify: () => Promise<{ body: { code: string } }>, want: string): Promise<string> {
  const started = Date.now();
  let code = '';
  do {
    code = (await verify()).body.code;
    if (code === want) return code;
    await new Promise((res) => setTimeout(res, 20));
  } while (Date.now() - started < ms);
  return code;
}

let a: Harness;
let b: Harness;
let dbA: Database;
let dbB: Database;

beforeAll(async () => {
  dbA = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
  dbB = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
  a = await startHarness({ db: dbA });
  b = await startHarness({ db: dbB });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await dbA.close();
  await dbB.close();
});

test('a rate limit of N allows exactly N across both instances', async () => {
  const acct = await a.newAccount('instances');
  const r = await a.gql(`mutation { createKey(input: { name: "n", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 7 }] }) { secret } }`, {}, acct.secret);
  const secret = r.data.createKey.secret;
  const codes: string[] = [];
  for (let i = 0; i < 10; i++) codes.push((await (i % 2 ? b : a).verify({ key: secret })).body.code);
  expect(codes.filter((c) => c === 'VALID')).toHaveLength(7);
  expect(codes.slice(7)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
});

test('a key revoked on one instance stops verifying on the other within one second', async () => {
  const acct = await a.newAccount('instances-revoke');
  const r = await a.gql(`mutation { createKey(input: { name: "r", type: PRODUCTION }) { secret key { id } } }`, {}, acct.secret);
  const { secret, key } = r.data.createKey;
  expect((await b.verify({ key: secret })).body.code).toBe('VALID'); // now cached on b
  const before = b.db.queryCount();
  expect((await b.verify({ key: secret })).body.code).toBe('VALID');
  expect(b.db.queryCount()).toBe(before); // served from b's cache

  await a.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: key.id }, acct.secret);
  expect(await codeWithin(1000, () => b.verify({ key: secret }), 'REVOKED')).toBe('REVOKED');
});

test('a rotation with no grace on one instance is honoured by the other within one second', async () => {
  const acct = await a.newAccount('instances-rotate');
  const r = await a.gql(`mutation { createKey(input: { name: "r", type: PRODUCTION }) { secret key { id } } }`, {}, acct.secret);
  const { secret, key } = r.data.createKey;
  expect((await b.verify({ key: secret })).body.code).toBe('VALID');
  await a.gql(`mutation($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 0) { secret } }`, { id: key.id }, acct.secret);
  expect(await codeWithin(1000, () => b.verify({ key: secret }), 'REVOKED')).toBe('REVOKED');
});
