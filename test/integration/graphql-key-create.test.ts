import crypto from 'node:crypto';
import { clock } from '../../src/infra/clock';
import { startHarness, type Harness } from '../helpers/harness';
import { AUDIT_EVENTS, CREATE_KEY, GET_KEY, KEY_FIELDS, UPDATE_KEY, checksum, createKey, expectDaysAfter, ok } from '../helpers/gql-fixtures';

// README, Keys: presets by type, the secret format, the secret shown exactly once, only a digest stored.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('create');
});
afterAll(() => h.close());

/** Creates a key and returns it with the moments that bracket the call. */
async function createTimed(input: Record<string, unknown> & { name: string; type: string }) {
  const from = clock.nowMs();
  const res = await h.gql(CREATE_KEY, { input }, acct.secret);
  const to = clock.nowMs();
  const payload = ok(res).createKey;
  return { ...payload, from, to };
}

describe.each([
  // type, env, permission, expires (days), per-minute limit, rotation (days)
  ['DEVELOPMENT', 'dev', 'READ_ONLY', 30, 60, 30],
  ['PRODUCTION', 'prod', 'EXECUTE', 365, 6000, 90],
  ['INTEGRATION', 'int', 'READ_ONLY', 90, 600, 90],
] as const)('a %s key created with only name and type', (type, env, permission, expiresDays, perMinute, rotationDays) => {
  let created: Awaited<ReturnType<typeof createTimed>>;
  beforeAll(async () => {
    created = await createTimed({ name: `preset-${type}`, type });
  });

  test(`gets permission ${permission}, ${expiresDays}-day expiry, ${perMinute}/min and rotation due in ${rotationDays} days`, () => {
    const k = created.key;
    expect(k).toMatchObject({
      name: `preset-${type}`,
      type,
      master: false,
      permission,
      effectivePermission: permission,
      status: 'ACTIVE',
      rateLimits: [{ window: 'MINUTE', limit: perMinute }],
      scope: { kind: 'ALL_AGENTS', agent: null, group: null, workflows: [] },
      ipAllowlist: [],
      allowedCountries: [],
      accessWindows: [],
      quota: null,
      bandwidth: null,
      maxConcurrent: null,
      condition: null,
      revokedAt: null,
      revokedReason: null,
      graceEndsAt: null,
      lastUsedAt: null,
      parent: null,
    });
    expectDaysAfter(k.expiresAt, expiresDays, created.from, created.to);
    expectDaysAfter(k.rotationDueAt, rotationDays, created.from, created.to);
    const createdAt = new Date(k.createdAt).getTime();
    expect(createdAt).toBeGreaterThanOrEqual(created.from - 1000);
    expect(createdAt).toBeLessThanOrEqual(created.to + 1000);
  });

  test(`has a secret of the form ak_${env}_<base62 body><6-char CRC32 checksum>`, () => {
    const s: string = created.secret;
    expect(s).toMatch(new RegExp(`^ak_${env}_[0-9A-Za-z]{42,50}$`));
    // 32 random bytes need at least 43 base62 characters; the checksum adds 6.
    expect(s.length - `ak_${env}_`.length).toBeGreaterThanOrEqual(43 + 6 - 1);
    expect(s.slice(-6)).toBe(checksum(s.slice(0, -6)));
  });

  test('shows as start the prefix and the first four body characters', () => {
    expect(created.key.start).toBe(created.secret.slice(0, `ak_${env}_`.length + 4));
  });

  test('verifies with its secret', async () => {
    const v = await h.verify({ key: created.secret });
    expect(v.body).toMatchObject({ valid: true, code: 'VALID', keyId: created.key.id, accountId: acct.accountId, permission });
  });
});

describe('an EMERGENCY key created with only name, type and ipAllowlist', () => {
  let created: Awaited<ReturnType<typeof createTimed>>;
  beforeAll(async () => {
    created = await createTimed({ name: 'preset-EMERGENCY', type: 'EMERGENCY', ipAllowlist: ['203.0.113.7'] });
  });

  test('gets FULL_ACCESS, a 7-day expiry, 12000/min and no rotation period (due after each use)', () => {
    expect(created.key).toMatchObject({
      type: 'EMERGENCY',
      permission: 'FULL_ACCESS',
      effectivePermission: 'FULL_ACCESS',
      rateLimits: [{ window: 'MINUTE', limit: 12000 }],
      ipAllowlist: ['203.0.113.7'],
      status: 'ACTIVE',
    });
    expectDaysAfter(created.key.expiresAt, 7, created.from, created.to);
    // Never a period longer than the 30-day cap for a FULL_ACCESS key.
    expect(created.key.rotationDueAt).toBeNull();
  });

  test('has a secret of the form ak_emg_<body><checksum> and start ak_emg_ + 4', () => {
    expect(created.secret).toMatch(/^ak_emg_[0-9A-Za-z]{42,50}$/);
    expect(created.secret.slice(-6)).toBe(checksum(created.secret.slice(0, -6)));
    expect(created.key.start).toBe(created.secret.slice(0, 'ak_emg_'.length + 4));
  });
});

test('the master key from bootstrap has an ak_root_ start', async () => {
  const me = ok(await h.gql(`{ viewer { key { start master permission } } }`, {}, acct.secret)).viewer.key;
  expect(me).toEqual({ start: acct.secret.slice(0, 'ak_root_'.length + 4), master: true, permission: 'FULL_ACCESS' });
});

describe('high-privilege keys rotate every 30 days at most', () => {
  test.each([
    ['a PRODUCTION key raised to MANAGE', 30, { type: 'PRODUCTION', permission: 'MANAGE' }],
    ['an INTEGRATION key raised to FULL_ACCESS', 30, { type: 'INTEGRATION', permission: 'FULL_ACCESS' }],
    ['a MANAGE key asking for a 60-day period', 30, { type: 'PRODUCTION', permission: 'MANAGE', rotationPeriodDays: 60 }],
    ['a MANAGE key asking for a 10-day period', 10, { type: 'PRODUCTION', permission: 'MANAGE', rotationPeriodDays: 10 }],
    ['an EXECUTE key asking for a 200-day period', 200, { type: 'PRODUCTION', rotationPeriodDays: 200 }],
    ['a READ_ONLY DEVELOPMENT key asking for a 7-day period', 7, { type: 'DEVELOPMENT', rotationPeriodDays: 7 }],
  ])('%s: rotation due in %i days', async (label, days, input) => {
    const c = await createTimed({ name: `rotation ${label}`, ...input } as never);
    expectDaysAfter(c.key.rotationDueAt, days, c.from, c.to);
  });

  test('raising a key to MANAGE with updateKey pulls its rotation in to 30 days after creation', async () => {
    const c = await createTimed({ name: 'promoted', type: 'PRODUCTION' });
    expectDaysAfter(c.key.rotationDueAt, 90, c.from, c.to);
    const updated = ok(await h.gql(UPDATE_KEY, { id: c.key.id, input: { permission: 'MANAGE' } }, acct.secret)).updateKey;
    expect(updated.permission).toBe('MANAGE');
    expect(new Date(updated.rotationDueAt).getTime()).toBe(new Date(c.key.createdAt).getTime() + 30 * 86_400_000);
  });
});

describe('expiry', () => {
  test.each([
    ['DAYS_30', 30],
    ['DAYS_90', 90],
    ['YEAR_1', 365],
  ])('expiresIn %s sets expiresAt that many days ahead, whatever the type', async (expiresIn, days) => {
    const c = await createTimed({ name: `expires ${expiresIn}`, type: 'DEVELOPMENT', expiresIn });
    expectDaysAfter(c.key.expiresAt, days as number, c.from, c.to);
  });

  test('expiresIn NEVER leaves expiresAt empty', async () => {
    const c = await createTimed({ name: 'never expires', type: 'PRODUCTION', expiresIn: 'NEVER' });
    expect(c.key.expiresAt).toBeNull();
  });

  test('an explicit expiresAt is kept to the millisecond', async () => {
    const at = new Date(clock.nowMs() + 3 * 86_400_000 + 123).toISOString();
    const c = await createTimed({ name: 'explicit expiry', type: 'PRODUCTION', expiresAt: at });
    expect(new Date(c.key.expiresAt).toISOString()).toBe(at);
  });

  test('given settings replace the presets: rate limits and permission', async () => {
    const c = await createTimed({ name: 'custom', type: 'DEVELOPMENT', permission: 'EXECUTE', rateLimits: [{ window: 'HOUR', limit: 100 }] });
    expect(c.key).toMatchObject({ permission: 'EXECUTE', rateLimits: [{ window: 'HOUR', limit: 100 }] });
  });
});

describe('the secret', () => {
  let created: { secret: string; key: any };
  beforeAll(async () => {
    created = await createKey(h, acct.secret, { name: 'secret-keeper', type: 'PRODUCTION', metadata: { team: 'core' } });
  });

  const body = () => created.secret.slice('ak_prod_'.length);
  const sha256 = () => crypto.createHash('sha256').update(created.secret).digest('hex');

  test('is different for every key', async () => {
    const again = await createKey(h, acct.secret, { name: 'secret-keeper-2', type: 'PRODUCTION' });
    expect(again.secret).not.toBe(created.secret);
    expect(again.secret.slice(8, 20)).not.toBe(created.secret.slice(8, 20));
  });

  test('is never present in any later query (keys with every field, key, viewer, audit log)', async () => {
    const texts = [
      JSON.stringify(await h.gql(`{ keys(first: 100) { edges { cursor node { ${KEY_FIELDS} } } pageInfo { startCursor endCursor } } }`, {}, acct.secret)),
      JSON.stringify(await h.gql(GET_KEY, { id: created.key.id }, acct.secret)),
      JSON.stringify(await h.gql(`{ viewer { key { ${KEY_FIELDS} } account { id name } } }`, {}, created.secret)),
      JSON.stringify(await h.gql(AUDIT_EVENTS, { first: 100 }, acct.secret)),
    ];
    // The queries did answer, and did show the key.
    for (const t of texts) expect(t).not.toContain('"errors"');
    expect(texts[0]).toContain(created.key.id);
    expect(texts[0]).toContain(created.key.start);
    for (const t of texts) {
      expect(t).not.toContain(created.secret);
      expect(t).not.toContain(body().slice(4)); // the part of the body beyond `start`
      expect(t).not.toContain(sha256()); // nor its digest
    }
  });

  test('is stored only as a digest: the whole ApiKey table holds start but not the secret', async () => {
    const rows = await h.db.prisma.$queryRawUnsafe('SELECT * FROM "ApiKey"');
    const dump = JSON.stringify(rows);
    expect(dump).toContain(created.key.start);
    expect(dump).not.toContain(created.secret);
    expect(dump).not.toContain(body());
    expect(dump).not.toContain(body().slice(4, 24));
    expect(dump).not.toContain(acct.secret);
  });

  test('appears nowhere in the audit table either', async () => {
    const dump = JSON.stringify(await h.db.prisma.$queryRawUnsafe('SELECT * FROM "AuditEvent"'));
    expect(dump).toContain(created.key.id);
    expect(dump).not.toContain(created.secret);
    expect(dump).not.toContain(body().slice(4, 24));
  });
});
