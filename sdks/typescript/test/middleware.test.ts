import Fastify from 'fastify';
import { Hono } from 'hono';
import { KeywardenHttpError, KeywardenTimeoutError } from '../src/errors.js';
import { keywarden as expressKeywarden } from '../src/express.js';
import { keywarden as fastifyKeywarden, keywardenPlugin } from '../src/fastify.js';
import { keywarden as honoKeywarden } from '../src/hono.js';
import { bearerKey, plainIp, type Verifier } from '../src/guard.js';
import type { VerifyRequest, VerifyResult } from '../src/types.js';

// The three adapters over a stub verifier, in memory (Fastify's inject, Hono's app.request, and
// plain objects for Express): same decisions, same answers.

const NOW_RESET = Date.now() + 20_000;
let calls: { input: VerifyRequest; failMode?: string }[];

function stub(answer: (input: VerifyRequest, failMode?: string) => VerifyResult | Promise<VerifyResult>): Verifier {
  return {
    async verify(input, options) {
      calls.push({ input, failMode: options?.failMode });
      return answer(input, options?.failMode);
    },
  };
}

const result = (code: VerifyResult['code'], extra: Partial<VerifyResult> = {}) =>
  ({
    verified: true,
    valid: code === 'VALID',
    code,
    keyId: 'key_1',
    accountId: 'acc_1',
    permission: 'READ_ONLY',
    scope: null,
    expiresAt: null,
    ratelimits: [{ window: 'MINUTE', limit: 5, remaining: code === 'RATE_LIMITED' ? 0 : 4, reset: NOW_RESET }],
    quota: null,
    retryAfter: code === 'RATE_LIMITED' ? 20 : null,
    ...extra,
  }) as VerifyResult;

/** Keys named after the code they get: "k-VALID", "k-OUT_OF_SCOPE", ...; "k-TIMEOUT" times out. */
const byKey = stub((input, failMode) => {
  const code = input.key.slice(2);
  if (code === 'TIMEOUT') {
    if (failMode === 'open') return { ...result('VALID'), verified: false, code: 'UNVERIFIED', keyId: null, accountId: null, permission: null, ratelimits: [], error: new KeywardenTimeoutError(1, 'x') } as VerifyResult;
    throw new KeywardenTimeoutError(1, 'x');
  }
  if (code === 'BROKEN') throw new KeywardenHttpError(400, 'BAD_REQUEST', 'permissions: does not parse');
  return result(code as VerifyResult['code']);
});

beforeEach(() => (calls = []));

const CASES: [string | null, number, string | null][] = [
  [null, 401, 'UNAUTHENTICATED'],
  ['k-NOT_FOUND', 401, 'NOT_FOUND'],
  ['k-OUT_OF_SCOPE', 403, 'OUT_OF_SCOPE'],
  ['k-RATE_LIMITED', 429, 'RATE_LIMITED'],
  ['k-VALID', 200, null],
];

function expectAnswer(status: number, headers: Record<string, string | undefined>, body: string, expected: [number, string | null]) {
  const [wantStatus, code] = expected;
  expect(status).toBe(wantStatus);
  if (code) expect(JSON.parse(body).error.code).toBe(code);
  expect(headers['www-authenticate']).toBe(wantStatus === 401 ? 'Bearer' : undefined);
  expect(headers['retry-after']).toBe(wantStatus === 429 ? '20' : undefined);
  if (code !== 'UNAUTHENTICATED') expect(headers['ratelimit-limit']).toBe('5');
}

test('bearerKey reads only "Bearer <key>"; plainIp unwraps IPv4-mapped addresses', () => {
  expect([bearerKey('Bearer abc'), bearerKey('bearer  abc '), bearerKey('Basic abc'), bearerKey('Bearer a b'), bearerKey(undefined)]).toEqual(['abc', 'abc', null, null, null]);
  expect([plainIp('::ffff:10.1.2.3'), plainIp('::1'), plainIp(' 10.0.0.1 '), plainIp('1.2.3.4, 5.6.7.8'), plainIp('testclient'), plainIp(undefined)]).toEqual([
    '10.1.2.3',
    '::1',
    '10.0.0.1',
    undefined,
    undefined,
    undefined,
  ]);
});

test('Fastify: denials like the gateway, the result on request.keywarden, target from the request, IP sent', async () => {
  const app = Fastify();
  const requireKey = fastifyKeywarden({ client: byKey });
  app.get('/agents/:id', { preHandler: requireKey((req) => ({ agentId: (req.params as { id: string }).id, permission: 'EXECUTE' })) }, async (req) => ({ seen: req.keywarden }));
  for (const [key, status, code] of CASES) {
    const res = await app.inject({ url: '/agents/agt_1', headers: key ? { authorization: `Bearer ${key}` } : {} });
    expectAnswer(res.statusCode, res.headers as Record<string, string>, res.body, [status, code]);
    if (status === 200) expect(res.json().seen.keyId).toBe('key_1');
  }
  expect(calls[0].input).toEqual({ key: 'k-NOT_FOUND', agentId: 'agt_1', permission: 'EXECUTE', ip: '127.0.0.1' });
});

test('Fastify plugin: guards every route of its scope; fail-closed answers 503, fail-open lets through unverified', async () => {
  const app = Fastify();
  app.register(async (scope) => {
    scope.register(keywardenPlugin, { client: byKey, target: { workflowId: 'wf_1' } });
    scope.get('/closed', async (req) => ({ verified: req.keywarden?.verified }));
  });
  app.register(async (scope) => {
    scope.register(keywardenPlugin, { client: byKey, failMode: 'open' });
    scope.get('/open', async (req) => ({ verified: req.keywarden?.verified, code: req.keywarden?.code }));
  });
  app.get('/free', async () => 'no key needed');
  const closed = await app.inject({ url: '/closed', headers: { authorization: 'Bearer k-TIMEOUT' } });
  expect([closed.statusCode, closed.json()]).toEqual([503, { error: { code: 'KEYWARDEN_UNAVAILABLE', message: 'Keywarden could not be reached to verify the API key' } }]);
  const open = await app.inject({ url: '/open', headers: { authorization: 'Bearer k-TIMEOUT' } });
  expect([open.statusCode, open.json()]).toEqual([200, { verified: false, code: 'UNVERIFIED' }]);
  expect((await app.inject({ url: '/free' })).statusCode).toBe(200);
  expect(calls.map((c) => [c.input.workflowId, c.failMode])).toEqual([
    ['wf_1', undefined],
    [undefined, 'open'],
  ]);
});

test('Hono: denials like the gateway, the result in c.get("keywarden"), RateLimit headers on the handler\'s answer', async () => {
  const app = new Hono();
  const requireKey = honoKeywarden({ client: byKey, ip: (c) => c.req.header('x-client-ip') });
  app.get(
    '/agents/:id',
    requireKey((c) => ({ agentId: c.req.param('id') })),
    (c) => c.json({ seen: c.get('keywarden') }),
  );
  for (const [key, status, code] of CASES) {
    const res = await app.request('/agents/agt_2', { headers: { 'x-client-ip': '203.0.113.7', ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    const headers = Object.fromEntries(res.headers.entries());
    expectAnswer(res.status, headers, await res.clone().text(), [status, code]);
    if (status === 200) expect((await res.json()).seen.code).toBe('VALID');
  }
  expect(calls[0].input).toEqual({ key: 'k-NOT_FOUND', agentId: 'agt_2', ip: '203.0.113.7' });
});

test("Hono: an error that is no outage (a 400 from Keywarden) goes to the app's error handler", async () => {
  const app = new Hono();
  app.onError((err, c) => c.text(`handled ${(err as KeywardenHttpError).code}`, 500));
  app.get('/x', honoKeywarden({ client: byKey })(), (c) => c.text('never'));
  const res = await app.request('/x', { headers: { authorization: 'Bearer k-BROKEN' } });
  expect([res.status, await res.text()]).toEqual([500, 'handled BAD_REQUEST']);
});

function fakeExpress(headers: Record<string, string>) {
  const res = {
    statusCode: 200,
    headers: {} as Record<string, string>,
    body: '',
    status(s: number) {
      this.statusCode = s;
      return this;
    },
    set(h: Record<string, string>) {
      Object.assign(this.headers, h);
      return this;
    },
    send(b: string) {
      this.body = b;
      return this;
    },
  };
  const req = { headers, ip: '::ffff:198.51.100.4', socket: {} } as Record<string, unknown>;
  return { req, res };
}

test('Express: denials like the gateway, the result on req.keywarden, errors to next(err)', async () => {
  const requireKey = expressKeywarden({ client: byKey });
  const mw = requireKey({ agentId: 'agt_3' });
  for (const [key, status, code] of CASES) {
    const { req, res } = fakeExpress(key ? { authorization: `Bearer ${key}` } : {});
    let nextArg: unknown = 'not called';
    await mw(req as never, res as never, (arg?: unknown) => (nextArg = arg));
    expectAnswer(res.statusCode, res.headers, res.body, [status, code]);
    expect(nextArg).toBe(status === 200 ? undefined : 'not called');
    if (status === 200) expect((req.keywarden as VerifyResult).keyId).toBe('key_1');
  }
  expect(calls[0].input).toEqual({ key: 'k-NOT_FOUND', agentId: 'agt_3', ip: '198.51.100.4' });
  const { req, res } = fakeExpress({ authorization: 'Bearer k-BROKEN' });
  let nextArg: unknown;
  await mw(req as never, res as never, (arg?: unknown) => (nextArg = arg));
  expect(nextArg).toBeInstanceOf(KeywardenHttpError);
});
