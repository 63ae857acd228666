import { startHarness, type Harness } from '../helpers/harness';
import { createKey, ok } from '../helpers/gql-fixtures';

// BULK_OPERATION_THRESHOLD comes through the configuration, passed in to the app: a bulk mutation
// changing more keys than it raises one BULK_OPERATION security event. The process environment is
// not read behind the configuration's back.

let h: Harness;
const savedEnv = process.env.BULK_OPERATION_THRESHOLD;
beforeAll(async () => {
  process.env.BULK_OPERATION_THRESHOLD = '1000';
  h = await startHarness({ app: { bulkOperationThreshold: 2 } });
});
afterAll(async () => {
  if (savedEnv === undefined) delete process.env.BULK_OPERATION_THRESHOLD;
  else process.env.BULK_OPERATION_THRESHOLD = savedEnv;
  await h.close();
});

const REVOKE_KEYS = `mutation($ids: [ID!]!) { revokeKeys(ids: $ids) { id status } }`;

async function bulkEvents(accountId: string) {
  return h.db.prisma.securityEvent.findMany({ where: { accountId, kind: 'BULK_OPERATION' }, select: { details: true } });
}

test('revoking more keys than the configured threshold raises one BULK_OPERATION event; at the threshold, none', async () => {
  const acct = await h.newAccount('bulk-threshold');
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push((await createKey(h, acct.secret, { name: `k${i}`, type: 'PRODUCTION' })).key.id);

  ok(await h.gql(REVOKE_KEYS, { ids: keys.slice(0, 2) }, acct.secret));
  expect(await bulkEvents(acct.accountId)).toEqual([]);

  const revoked = ok(await h.gql(REVOKE_KEYS, { ids: keys.slice(2) }, acct.secret)).revokeKeys;
  expect(revoked.map((k: { status: string }) => k.status)).toEqual(['REVOKED', 'REVOKED', 'REVOKED']);
  expect(await bulkEvents(acct.accountId)).toEqual([{ details: { action: 'key.revoke', keys: 3, threshold: 2 } }]);
});
