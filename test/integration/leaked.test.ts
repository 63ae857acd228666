import { leakedReportsKey } from '../../src/infra/redis-keys';
import { isolatedPrefix, startHarness, type Harness } from '../helpers/harness';
import { breakChecksum, createKey, forgeSecret, ok } from '../helpers/gql-fixtures';
import { requestFrom } from '../helpers/requests';

// POST /v1/keys/leaked (README, Reports, leaked keys and scanning): anyone may report secrets; each that matches a key not yet
// revoked revokes it with its subtree and raises KEY_LEAKED. The answer is always 202
// {"received": N}, identical whether anything matched; bodies are bounded; rate limited per IP.

let h: Harness;
const prefix = isolatedPrefix('leaked');
beforeAll(async () => {
  // Its own Redis prefix: the per-IP counter is not shared with other test files running at once.
  h = await startHarness({ app: { prefix } });
});
afterAll(() => h.close());
beforeEach(() => h.redis.del(leakedReportsKey(prefix, '127.0.0.1')));

async function report(body: unknown, init: { method?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${h.url}/v1/keys/leaked`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function waitForStatus(keyId: string, status: string, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const k = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: keyId } });
    if (k.status === status) return k;
    if (Date.now() > until) throw new Error(`key ${keyId} is ${k.status}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const derive = async (secret: string, parentId: string, name: string) =>
  ok(await h.gql(`mutation($p: ID!, $i: CreateKeyInput!) { deriveKey(parentId: $p, input: $i) { key { id } secret } }`, { p: parentId, i: { name, type: 'PRODUCTION' } }, secret)).deriveKey;

const leakedEvents = (accountId: string) => h.db.prisma.securityEvent.findMany({ where: { accountId, kind: 'KEY_LEAKED' }, orderBy: { createdAt: 'asc' } });

test('a reported key is revoked with its subtree, by no key, from the reporter IP, with a CRITICAL KEY_LEAKED event', async () => {
  const acct = await h.newAccount('leak');
  const parent = await createKey(h, acct.secret, { name: 'leaky', type: 'PRODUCTION' });
  const child = await derive(acct.secret, parent.key.id, 'leaky-child');
  const grandchild = await derive(acct.secret, child.key.id, 'leaky-grandchild');
  const bystander = await createKey(h, acct.secret, { name: 'bystander', type: 'PRODUCTION' });
  expect((await h.verify({ key: grandchild.secret })).body.code).toBe('VALID');

  const r = await report({ keys: [parent.secret], source: 'github', url: 'https://github.com/acme/app/blob/main/.env' });
  expect(r.status).toBe(202);
  expect(r.body).toEqual({ received: 1 });

  for (const id of [parent.key.id, child.key.id, grandchild.key.id]) {
    const k = await waitForStatus(id, 'REVOKED');
    expect(k.revokedReason).toBe('leaked (github)');
  }
  expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: bystander.key.id } })).status).toBe('ACTIVE');
  // Caches drop the subtree at once: the grandchild no longer verifies.
  expect((await h.verify({ key: grandchild.secret })).body.code).toBe('REVOKED');

  const events = await leakedEvents(acct.accountId);
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ keyId: parent.key.id, severity: 'CRITICAL', ip: '127.0.0.1', acknowledgedAt: null });
  expect(events[0].details).toEqual({ source: 'github', url: 'https://github.com/acme/app/blob/main/.env', revokedKeyIds: [parent.key.id, child.key.id, grandchild.key.id] });

  const audit = await h.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId, action: 'key.revoke' }, orderBy: { sequence: 'asc' } });
  expect(audit.map((a) => [a.targetId, a.actorKeyId, a.ip])).toEqual([parent.key.id, child.key.id, grandchild.key.id].map((id) => [id, null, '127.0.0.1']));
  expect(ok(await h.gql(`{ verifyAuditChain { valid } }`, {}, acct.secret)).verifyAuditChain.valid).toBe(true);
});

test('the answer is the same, byte for byte, whether a key matched, did not exist, or was malformed', async () => {
  const acct = await h.newAccount('leak-same');
  const real = await createKey(h, acct.secret, { name: 'real', type: 'PRODUCTION' });
  const answers: { status: number; text: string; type: string | null; length: string | null }[] = [];
  for (const keys of [[real.secret], [forgeSecret('prod')], [breakChecksum(forgeSecret('dev'))], ['not a key at all']]) {
    const r = await report({ keys });
    answers.push({ status: r.status, text: r.text, type: r.headers.get('content-type'), length: r.headers.get('content-length') });
  }
  expect(answers.every((a) => JSON.stringify(a) === JSON.stringify(answers[0]))).toBe(true);
  expect(answers[0]).toEqual({ status: 202, text: '{"received":1}', type: 'application/json; charset=utf-8', length: '14' });
  await waitForStatus(real.key.id, 'REVOKED');
});

test('received counts every entry sent; a look-alike with a wrong checksum and an unknown secret revoke nothing', async () => {
  const acct = await h.newAccount('leak-lookalike');
  const kept = await createKey(h, acct.secret, { name: 'kept', type: 'PRODUCTION' });
  // Created last, so processed last: once it is revoked, the whole report has been handled.
  const sentinel = await createKey(h, acct.secret, { name: 'sentinel', type: 'PRODUCTION' });
  const r = await report({ keys: [breakChecksum(kept.secret), forgeSecret('prod'), 'garbage', sentinel.secret, sentinel.secret] });
  expect(r.body).toEqual({ received: 5 });
  await waitForStatus(sentinel.key.id, 'REVOKED');
  expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: kept.key.id } })).status).toBe('ACTIVE');
  // The secret reported twice raised one event.
  expect((await leakedEvents(acct.accountId)).map((e) => e.keyId)).toEqual([sentinel.key.id]);
});

test('a key revoked before is left as it was: no new event, its reason unchanged', async () => {
  const acct = await h.newAccount('leak-revoked');
  const old = await createKey(h, acct.secret, { name: 'old', type: 'PRODUCTION' });
  ok(await h.gql(`mutation($id: ID!) { revokeKey(id: $id, reason: "retired") { id } }`, { id: old.key.id }, acct.secret));
  const sentinel = await createKey(h, acct.secret, { name: 'sentinel', type: 'PRODUCTION' });
  await report({ keys: [old.secret, sentinel.secret] });
  await waitForStatus(sentinel.key.id, 'REVOKED');
  expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: old.key.id } })).revokedReason).toBe('retired');
  expect((await leakedEvents(acct.accountId)).map((e) => e.keyId)).toEqual([sentinel.key.id]);
});

test('keys of two accounts in one report are each revoked, with the event in their own account', async () => {
  const a = await h.newAccount('leak-a');
  const b = await h.newAccount('leak-b');
  const ka = await createKey(h, a.secret, { name: 'ka', type: 'PRODUCTION' });
  const kb = await createKey(h, b.secret, { name: 'kb', type: 'DEVELOPMENT' });
  await report({ keys: [kb.secret, ka.secret], source: 'pastebin' });
  await waitForStatus(ka.key.id, 'REVOKED');
  await waitForStatus(kb.key.id, 'REVOKED');
  expect((await leakedEvents(a.accountId)).map((e) => e.keyId)).toEqual([ka.key.id]);
  expect((await leakedEvents(b.accountId)).map((e) => e.keyId)).toEqual([kb.key.id]);
});

test("an account's last active master key is not revoked (that would lock everyone out) but raises KEY_LEAKED saying so", async () => {
  const acct = await h.newAccount('leak-master');
  const sentinel = await createKey(h, acct.secret, { name: 'sentinel', type: 'PRODUCTION' });
  await report({ keys: [acct.secret, sentinel.secret] });
  await waitForStatus(sentinel.key.id, 'REVOKED');
  expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: acct.keyId } })).status).toBe('ACTIVE');
  const events = await leakedEvents(acct.accountId);
  expect(events.map((e) => [e.keyId, e.severity])).toEqual([
    [acct.keyId, 'CRITICAL'],
    [sentinel.key.id, 'CRITICAL'],
  ]);
  expect((events[0].details as any).note).toMatch(/not revoked: .*last active master key/);
  expect((events[0].details as any).revokedKeyIds).toEqual([]);
});

describe('malformed requests are refused before anything is looked up', () => {
  test.each<[string, unknown, number, string]>([
    ['malformed JSON', '{"keys": [', 400, 'MALFORMED_JSON'],
    ['a JSON array body', '[]', 400, 'request body'],
    ['keys missing', { source: 'x' }, 400, 'keys'],
    ['keys not an array', { keys: 'ak_prod_x' }, 400, 'keys'],
    ['keys empty', { keys: [] }, 400, 'keys'],
    ['more than 100 keys', { keys: Array.from({ length: 101 }, () => 'x') }, 400, 'keys'],
    ['a key that is not a string', { keys: ['a', 'b', 7] }, 400, 'keys[2]'],
    ['a source that is not a string', { keys: ['a'], source: 5 }, 400, 'source'],
    ['a url that is not http(s)', { keys: ['a'], url: 'ftp://example.com/x' }, 400, 'url'],
    ['a body over 64 KB', { keys: ['a'], source: 'x', padding: 'y'.repeat(70_000) }, 413, 'PAYLOAD_TOO_LARGE'],
  ])('%s', async (_label, body, status, mention) => {
    const r = await report(body);
    expect(r.status).toBe(status);
    expect(JSON.stringify(r.body)).toContain(mention);
  });

  test('exactly 100 keys are accepted', async () => {
    const r = await report({ keys: Array.from({ length: 100 }, () => forgeSecret('dev')) });
    expect(r).toMatchObject({ status: 202, body: { received: 100 } });
  });

  test('GET is 405 with Allow: POST', async () => {
    const r = await report(null, { method: 'GET' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
  });
});

test('the eleventh report within a minute from one IP is 429 with Retry-After, and its keys are not processed', async () => {
  const acct = await h.newAccount('leak-rate');
  const key = await createKey(h, acct.secret, { name: 'later', type: 'PRODUCTION' });
  for (let i = 0; i < 10; i++) expect((await report({ keys: [forgeSecret('prod')] })).status).toBe(202);
  const limited = await report({ keys: [key.secret] });
  expect(limited.status).toBe(429);
  const retryAfter = Number(limited.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(limited.body.error.code).toBe('RATE_LIMITED');
  await new Promise((r) => setTimeout(r, 300));
  expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.key.id } })).status).toBe('ACTIVE');
  // Once the window is over (the counter gone), reports are accepted again.
  await h.redis.del(leakedReportsKey(prefix, '127.0.0.1'));
  expect((await report({ keys: [key.secret] })).status).toBe(202);
  await waitForStatus(key.key.id, 'REVOKED');
});

describe('IPv6 reporters behind a trusted proxy', () => {
  let behindProxy: Harness;
  beforeAll(async () => {
    behindProxy = await startHarness({ app: { prefix: isolatedPrefix('leaked-v6'), trustProxy: 1, leakedRateLimit: { maxRequests: 3, windowMs: 60_000 } } });
  });
  afterAll(() => behindProxy.close());

  const reportFrom = (client: string) =>
    requestFrom(`${behindProxy.url}/v1/keys/leaked`, {
      localAddress: '127.0.0.41',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify({ keys: [forgeSecret('prod')] }),
    });

  test('are counted per /64, as the brute-force guard counts them: another address of the same /64 is limited too', async () => {
    for (let i = 0; i < 3; i++) expect((await reportFrom(`2001:db8:7:8::${i + 1}`)).status).toBe(202);
    // A host picks any address in its /64 at will.
    const sameNetwork = await reportFrom('2001:db8:7:8:ffff:1:2:3');
    expect(sameNetwork.status).toBe(429);
    expect(sameNetwork.body.error.code).toBe('RATE_LIMITED');
    expect((await reportFrom('2001:db8:7:9::1')).status).toBe(202);
  });
});
