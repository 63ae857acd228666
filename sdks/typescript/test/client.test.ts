import { MockAgent } from 'undici';
import { KeywardenClient } from '../src/client.js';
import { KeywardenGraphQLError, KeywardenHttpError, KeywardenInputError, KeywardenTimeoutError, KeywardenUnavailableError } from '../src/errors.js';

// The client over undici's MockAgent: real request building, deadlines and error mapping, no network.

const BASE = 'http://keywarden.test:4000';
let agent: MockAgent;
let sent: { path: string; body: any; headers: Record<string, string> }[];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  sent = [];
});
afterEach(() => agent.close());

function client(extra: Record<string, unknown> = {}) {
  return new KeywardenClient({ baseUrl: `${BASE}/`, dispatcher: agent, timeoutMs: 200, ...extra });
}

function reply(path: string, status: number, body: unknown, headers: Record<string, string> = {}) {
  return agent
    .get(BASE)
    .intercept({ path, method: 'POST' })
    .reply(
      status,
      (opts) => {
        sent.push({ path, body: JSON.parse(String(opts.body)), headers: opts.headers as Record<string, string> });
        return body as object;
      },
      { headers: { 'content-type': 'application/json', ...headers } },
    );
}

const VALID = { valid: true, code: 'VALID', keyId: 'key_1', accountId: 'acc_1', permission: 'READ_ONLY', scope: null, expiresAt: null, ratelimits: [], quota: null };

test('verify posts the request to /v1/keys/verify and resolves with a typed result', async () => {
  reply('/v1/keys/verify', 200, VALID);
  const r = await client().verify({ key: 'ak_prod_x', agentId: 'agt_1', permission: 'EXECUTE', cost: 2 });
  expect(sent[0].body).toEqual({ key: 'ak_prod_x', agentId: 'agt_1', permission: 'EXECUTE', cost: 2 });
  expect(sent[0].headers['content-type']).toBe('application/json');
  expect(r).toMatchObject({ verified: true, valid: true, code: 'VALID', keyId: 'key_1' });
});

test('a denial resolves (it is an answer, not an error)', async () => {
  reply('/v1/keys/verify', 200, { ...VALID, valid: false, code: 'OUT_OF_SCOPE' });
  expect((await client().verify({ key: 'k' })).code).toBe('OUT_OF_SCOPE');
});

test('closed: a timeout rejects with KeywardenTimeoutError, a refused connection and a 5xx with KeywardenUnavailableError', async () => {
  reply('/v1/keys/verify', 200, VALID).delay(1000);
  await expect(client().verify({ key: 'k' })).rejects.toBeInstanceOf(KeywardenTimeoutError);
  agent
    .get(BASE)
    .intercept({ path: '/v1/keys/verify', method: 'POST' })
    .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  await expect(client().verify({ key: 'k' })).rejects.toBeInstanceOf(KeywardenUnavailableError);
  reply('/v1/keys/verify', 503, { error: { code: 'NOT_READY', message: 'draining' } });
  await expect(client().verify({ key: 'k' })).rejects.toMatchObject({ name: 'KeywardenUnavailableError', status: 503 });
});

test('open: the same outages resolve with an unverified result carrying the error', async () => {
  reply('/v1/keys/verify', 200, VALID).delay(1000);
  const r = await client({ failMode: 'open' }).verify({ key: 'k' });
  expect([r.verified, r.valid, r.code, r.keyId]).toEqual([false, true, 'UNVERIFIED', null]);
  expect(r.verified === false && r.error).toBeInstanceOf(KeywardenTimeoutError);
  reply('/v1/keys/verify', 502, 'bad gateway');
  expect((await client().verify({ key: 'k' }, { failMode: 'open' })).verified).toBe(false);
});

test('a 400 is never hidden by the fail mode', async () => {
  reply('/v1/keys/verify', 400, { error: { code: 'BAD_REQUEST', message: 'ip: must be an IPv4 or IPv6 address' } });
  await expect(client({ failMode: 'open' }).verify({ key: 'k', ip: 'nope' })).rejects.toMatchObject({ name: 'KeywardenHttpError', status: 400, code: 'BAD_REQUEST' });
});

test('reportLeaked posts the secrets with source and url and returns how many were received', async () => {
  reply('/v1/keys/leaked', 202, { received: 2 });
  expect(await client().reportLeaked(['a', 'b'], { source: 'github', url: 'https://example.com/x' })).toEqual({ received: 2 });
  expect(sent[0].body).toEqual({ keys: ['a', 'b'], source: 'github', url: 'https://example.com/x' });
  reply('/v1/keys/leaked', 429, { error: { code: 'RATE_LIMITED', message: 'too many' } }, { 'retry-after': '30' });
  await expect(client().reportLeaked(['a'])).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfter: 30 });
  await expect(client().reportLeaked([])).rejects.toBeInstanceOf(KeywardenInputError);
});

test('graphql sends the Bearer key and resolves with data; errors reject with their extensions.code', async () => {
  reply('/graphql', 200, { data: { viewer: { key: { id: 'k1' } } } });
  const data = await client({ adminKey: 'ak_root_x' }).graphql<{ viewer: { key: { id: string } } }>('{ viewer { key { id } } }');
  expect(data.viewer.key.id).toBe('k1');
  expect(sent[0].headers.authorization).toBe('Bearer ak_root_x');
  reply('/graphql', 200, { data: null, errors: [{ message: 'not yours', extensions: { code: 'NOT_FOUND' } }] });
  const err = await client()
    .graphql('{ key(id: "x") { id } }', {}, { key: 'ak_root_y' })
    .catch((e) => e);
  expect(err).toBeInstanceOf(KeywardenGraphQLError);
  expect([err.code, err.errors[0].message, sent[1].headers.authorization]).toEqual(['NOT_FOUND', 'not yours', 'Bearer ak_root_y']);
  await expect(client().graphql('{ viewer { key { id } } }')).rejects.toThrow('key: an admin key is needed');
});

test('graphql calls get the longer admin deadline, verify calls the short one', async () => {
  reply('/graphql', 200, { data: { ok: true } }).delay(400);
  expect(await client({ adminKey: 'ak_root_x' }).graphql('{ ok }')).toEqual({ ok: true });
  reply('/graphql', 200, { data: { ok: true } }).delay(400);
  await expect(client({ adminKey: 'ak_root_x', adminTimeoutMs: 200 }).graphql('{ ok }')).rejects.toBeInstanceOf(KeywardenTimeoutError);
});

test('options are checked when the client is made', () => {
  expect(() => new KeywardenClient({ baseUrl: 'ftp://x' })).toThrow('baseUrl: must be an http or https URL');
  expect(() => new KeywardenClient({ baseUrl: BASE, timeoutMs: 0 })).toThrow('timeoutMs: must be a number above 0');
  expect(() => new KeywardenClient({ baseUrl: BASE, adminTimeoutMs: -1 })).toThrow('adminTimeoutMs: must be a number above 0');
  expect(() => new KeywardenClient({ baseUrl: BASE, failMode: 'maybe' as never })).toThrow("failMode: must be 'open' or 'closed'");
  expect(new KeywardenClient({ baseUrl: 'http://h:1/kw/' }).baseUrl).toBe('http://h:1/kw');
  expect(KeywardenHttpError).toBeDefined();
});
