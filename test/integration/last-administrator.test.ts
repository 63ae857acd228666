import { generateSecret, storedSecret } from '../../src/keys/secret';
import { insertStoredKey } from '../../src/keys/stored';
import { startHarness, type Harness } from '../helpers/harness';

// An account never loses its last usable administrator through a change: a master key that
// never expires and that no IP allowlist, access window, country list or condition can refuse.
// Every way of restricting the last such key is refused with CONFLICT and writes nothing; with a
// second unrestricted master key the same changes go through.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const UPDATE = `mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id } }`;
const UPDATE_MANY = `mutation($ids: [ID!]!, $input: UpdateKeyInput!) { updateKeys(ids: $ids, input: $input) { id } }`;
const future = () => new Date(Date.now() + 86_400_000).toISOString();

const LOCKOUTS: [string, Record<string, unknown>][] = [
  ['a false condition', { condition: 'false' }],
  ['a condition no request meets', { condition: 'request.ip == "192.0.2.250" && request.method == "NONE"' }],
  ['an IP allowlist of one foreign address', { ipAllowlist: ['192.0.2.1'] }],
  ['an IP allowlist that matches nothing usable', { ipAllowlist: ['0.0.0.0/32'] }],
  ['an IPv6-only allowlist', { ipAllowlist: ['2001:db8::/32'] }],
  ['access windows', { accessWindows: [{ days: ['MON'], start: '00:00', end: '00:01', timeZone: 'UTC' }] }],
  ['a country list', { allowedCountries: ['AQ'] }],
  ['an expiry', { expiresAt: future() }],
];

async function viewerWorks(secret: string): Promise<boolean> {
  const r = await h.gql(`{ viewer { key { id } } }`, {}, secret);
  return !r.errors && Boolean(r.data?.viewer?.key?.id);
}

describe('the last unrestricted master key', () => {
  test.each(LOCKOUTS)('%s is refused with CONFLICT, by updateKey and updateKeys, and nothing is written', async (_label, input) => {
    const acct = await h.newAccount('lockout');
    const auditBefore = await h.db.prisma.auditEvent.count({ where: { accountId: acct.accountId } });
    for (const [query, vars] of [
      [UPDATE, { id: acct.keyId, input }],
      [UPDATE_MANY, { ids: [acct.keyId], input }],
    ] as const) {
      const r = await h.gql(query, vars, acct.secret);
      expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(r.errors?.[0]?.message).toContain('usable master key');
    }
    expect(await h.db.prisma.auditEvent.count({ where: { accountId: acct.accountId } })).toBe(auditBefore);
    expect(await viewerWorks(acct.secret)).toBe(true);
  });

  test('a past expiry is refused too', async () => {
    const acct = await h.newAccount('lockout-past');
    const r = await h.gql(UPDATE, { id: acct.keyId, input: { expiresAt: new Date(Date.now() - 60_000).toISOString() } }, acct.secret);
    expect(['BAD_USER_INPUT', 'CONFLICT']).toContain(r.errors?.[0]?.extensions?.code);
    expect(await viewerWorks(acct.secret)).toBe(true);
  });

  test('changes that restrict nothing still go through (name, metadata, rate limits)', async () => {
    const acct = await h.newAccount('lockout-harmless');
    const r = await h.gql(UPDATE, { id: acct.keyId, input: { name: 'renamed', metadata: { team: 'ops' }, ipAllowlist: [] } }, acct.secret);
    expect(r.errors).toBeUndefined();
  });
});

/** A second master key, written as bootstrap writes one (the admin API creates none). */
async function secondMaster(accountId: string): Promise<{ keyId: string; secret: string }> {
  const secret = generateSecret('root');
  const key = await insertStoredKey(h.db.prisma, { account: { connect: { id: accountId } }, name: 'second master', ...storedSecret(secret), type: 'PRODUCTION', master: true, permission: 'FULL_ACCESS' });
  return { keyId: key.id, secret };
}

describe('with a second unrestricted master key', () => {
  test('restricting one of them is allowed; then the other is the last usable one: restricting or revoking it is refused', async () => {
    const acct = await h.newAccount('two-masters');
    const other = await secondMaster(acct.accountId);
    for (const [, input] of LOCKOUTS.slice(0, 3)) {
      expect((await h.gql(UPDATE, { id: acct.keyId, input }, other.secret)).errors).toBeUndefined();
    }
    const restrictOther = await h.gql(UPDATE, { id: other.keyId, input: { condition: 'false' } }, other.secret);
    expect(restrictOther.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const revokeOther = await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: other.keyId }, other.secret);
    expect(revokeOther.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await viewerWorks(other.secret)).toBe(true);
  });
});
