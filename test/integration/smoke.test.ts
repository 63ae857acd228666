import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('a master key creates a key that then verifies', async () => {
  const acct = await h.newAccount();
  const res = await h.gql(
    `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id name start type permission effectivePermission status expiresAt rateLimits { window limit } scope { kind } } } }`,
    { input: { name: 'ci', type: 'PRODUCTION' } },
    acct.secret,
  );
  expect(res.errors).toBeUndefined();
  const secret = res.data.createKey.secret;
  expect(secret).toMatch(/^ak_prod_/);
  const v = await h.verify({ key: secret });
  expect(v.body).toMatchObject({ valid: true, code: 'VALID', keyId: res.data.createKey.key.id, accountId: acct.accountId });
});
