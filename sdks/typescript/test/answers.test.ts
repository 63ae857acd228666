import { readVerifyAnswer, verifyPayload } from '../src/answers.js';
import { KeywardenHttpError, KeywardenInputError, KeywardenUnavailableError, KeywardenUnsupportedError } from '../src/errors.js';

// What a call may send, and what Keywarden's answers turn into.

const NOW = 1_800_000_000_000;
const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, body, headers });
const VALID = { valid: true, code: 'VALID', keyId: 'key_1', accountId: 'acc_1', permission: 'EXECUTE', scope: { kind: 'ALL_AGENTS', agentId: null, workflowIds: [] }, expiresAt: null, ratelimits: [], quota: null };

test('bad calls are refused before sending, naming the field', () => {
  const cases: [unknown, string][] = [
    [{}, 'key'],
    [{ key: '' }, 'key'],
    [{ key: 'k', permission: 'ADMIN' }, 'permission'],
    [{ key: 'k', agentId: '' }, 'agentId'],
    [{ key: 'k', permissions: 42 }, 'permissions'],
    [{ key: 'k', cost: -1 }, 'cost'],
    [{ key: 'k', bytes: 1.5 }, 'bytes'],
    [{ key: 'k', agentId: 'a', workflowId: 'w' }, 'agentId'],
  ];
  for (const [input, field] of cases) {
    let caught: unknown;
    try {
      verifyPayload(input as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KeywardenInputError);
    expect([(caught as KeywardenInputError).field, (caught as Error).message.startsWith(`${field}: `)]).toEqual([field, true]);
  }
});

test('the payload holds only the fields given', () => {
  expect(verifyPayload({ key: 'k', agentId: 'a', permission: 'EXECUTE', cost: 0 })).toEqual({ key: 'k', agentId: 'a', permission: 'EXECUTE', cost: 0 });
});

test('a 200 answer becomes a verified result; the identity and permission fields pass through when the server sends them', () => {
  const r = readVerifyAnswer(
    answer(200, {
      ...VALID,
      identity: { id: 'i', externalId: 'cust-1', metadata: { plan: 'pro' } },
      permissions: ['agents.execute'],
      credits: { remaining: 4 },
      ratelimits: [{ window: 'MINUTE', limit: 5, remaining: 4, reset: NOW, owner: 'IDENTITY' }],
    }),
    { key: 'k' },
    NOW,
  );
  expect(r).toMatchObject({ verified: true, valid: true, code: 'VALID', keyId: 'key_1', retryAfter: null, permissions: ['agents.execute'], credits: { remaining: 4 } });
  expect(r.identity?.externalId).toBe('cust-1');
  expect(r.ratelimits[0].owner).toBe('IDENTITY');
});

test('a denial is a result with its Retry-After worked out', () => {
  const r = readVerifyAnswer(answer(200, { ...VALID, valid: false, code: 'RATE_LIMITED', ratelimits: [{ window: 'MINUTE', limit: 1, remaining: 0, reset: NOW + 30_000 }] }), { key: 'k' }, NOW);
  expect([r.valid, r.code, r.retryAfter]).toEqual([false, 'RATE_LIMITED', 30]);
});

test("the verify endpoint's 429 TOO_MANY_FAILED_ATTEMPTS is a result, with the Retry-After it sent", () => {
  const r = readVerifyAnswer(answer(429, { code: 'TOO_MANY_FAILED_ATTEMPTS', message: 'x' }, { 'retry-after': '300' }), { key: 'k' });
  expect([r.valid, r.code, r.retryAfter, r.keyId]).toEqual([false, 'TOO_MANY_FAILED_ATTEMPTS', 300, null]);
});

test('4xx answers are KeywardenHttpErrors with the envelope; 5xx and foreign answers mean Keywarden is unavailable', () => {
  const bad = () => readVerifyAnswer(answer(400, { error: { code: 'BAD_REQUEST', message: 'permissions: does not parse' } }), { key: 'k' });
  expect(bad).toThrow(KeywardenHttpError);
  expect(bad).toThrow('Keywarden answered 400 BAD_REQUEST: permissions: does not parse');
  expect(() => readVerifyAnswer(answer(503, { error: { code: 'NOT_READY', message: 'draining' } }), { key: 'k' })).toThrow(KeywardenUnavailableError);
  expect(() => readVerifyAnswer(answer(200, '<html>proxy</html>'), { key: 'k' })).toThrow(KeywardenUnavailableError);
  expect(() => readVerifyAnswer(answer(200, { valid: true, code: 'SOMETHING_NEW' }), { key: 'k' })).toThrow(KeywardenUnavailableError);
});

test('a permission query answered as valid by a server that ignored it is refused, not let through', () => {
  expect(() => readVerifyAnswer(answer(200, VALID), { key: 'k', permissions: 'a.b' })).toThrow(KeywardenUnsupportedError);
  expect(readVerifyAnswer(answer(200, { ...VALID, permissions: ['a.b'] }), { key: 'k', permissions: 'a.b' }).valid).toBe(true);
  expect(readVerifyAnswer(answer(200, { ...VALID, valid: false, code: 'NOT_FOUND' }), { key: 'k', permissions: 'a.b' }).code).toBe('NOT_FOUND');
});
