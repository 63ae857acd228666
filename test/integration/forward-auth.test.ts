import { startHarness, type Harness } from '../helpers/harness';

// /v1/auth/forward: the forward-auth contract of Traefik/Caddy (X-Forwarded-*) and nginx
// (X-Original-*), deciding as the gateway does (same stages, limits and codes), answering 200 with
// the X-Keywarden-* headers or the gateway's denial plus X-Keywarden-Code; bad input is 400 and
// counts nothing.

let h: Harness;
let acct: { accountId: string; secret: string };
let agentId: string;
let otherAgentId: string;
let workflowId: string;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('forward');
  const r = await h.gql(`mutation { a: createAgent(input: { name: "a" }) { id } b: createAgent(input: { name: "b" }) { id } }`, {}, acct.secret);
  agentId = r.data.a.id;
  otherAgentId = r.data.b.id;
  const w = await h.gql(`mutation($ids: [ID!]) { createWorkflow(input: { name: "w", agentIds: $ids }) { id } }`, { ids: [agentId] }, acct.secret);
  workflowId = w.data.createWorkflow.id;
});
afterAll(() => h.close());

async function key(input: Record<string, unknown>) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'f', type: 'PRODUCTION', ...input } }, acct.secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}

type Style = 'traefik' | 'nginx';
function forward(secret: string | null, method: string, uri: string, opts: { style?: Style; query?: string; verb?: string; headers?: Record<string, string> } = {}) {
  const names = opts.style === 'nginx' ? ['x-original-method', 'x-original-uri'] : ['x-forwarded-method', 'x-forwarded-uri'];
  return fetch(`${h.url}/v1/auth/forward${opts.query ?? ''}`, {
    method: opts.verb ?? 'GET',
    headers: { [names[0]]: method, [names[1]]: uri, ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...opts.headers },
  });
}

test('allowed: 200, empty body, X-Keywarden-Key-Id/-Account-Id and RateLimit-*, with either family of headers and any auth method', async () => {
  const k = await key({ permission: 'EXECUTE', rateLimits: [{ window: 'MINUTE', limit: 50 }] });
  for (const style of ['traefik', 'nginx'] as const) {
    const res = await forward(k.secret, 'POST', `/v1/agents/${agentId}/run?x=1`, { style });
    expect([res.status, await res.text()]).toEqual([200, '']);
    expect([res.headers.get('x-keywarden-key-id'), res.headers.get('x-keywarden-account-id'), res.headers.get('ratelimit-limit'), res.headers.has('x-keywarden-code')]).toEqual([k.id, acct.accountId, '50', false]);
  }
  for (const verb of ['HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
    expect((await forward(k.secret, 'GET', `/v1/workflows/${workflowId}/status`, { verb })).status).toBe(200);
  }
  const unlimited = await key({ rateLimits: [] });
  const res = await forward(unlimited.secret, 'GET', `/v1/agents/${agentId}/`);
  expect([res.status, res.headers.has('ratelimit-limit'), res.headers.has('x-keywarden-identity'), res.headers.has('x-keywarden-permissions')]).toEqual([200, false, false, false]);
});

test('the original method picks the permission as in the gateway; the auth URL query takes precedence', async () => {
  const reader = await key({ permission: 'READ_ONLY' });
  expect((await forward(reader.secret, 'GET', `/v1/agents/${agentId}/x`)).status).toBe(200);
  const post = await forward(reader.secret, 'POST', `/v1/agents/${agentId}/x`);
  expect([post.status, post.headers.get('x-keywarden-code'), (await post.json()).error.code]).toEqual([403, 'INSUFFICIENT_PERMISSIONS', 'INSUFFICIENT_PERMISSIONS']);
  // permission=READ_ONLY on the auth URL overrides the POST.
  expect((await forward(reader.secret, 'POST', `/v1/agents/${agentId}/x`, { query: '?permission=READ_ONLY' })).status).toBe(200);
  // A path that names no agent, pinned by the query; agentId of the query wins over the path's.
  const single = await key({ scope: { kind: 'SINGLE_AGENT', agentId } });
  expect((await forward(single.secret, 'GET', '/api/reports', { query: `?agentId=${agentId}` })).status).toBe(200);
  const other = await forward(single.secret, 'GET', `/v1/agents/${agentId}/x`, { query: `?agentId=${otherAgentId}` });
  expect([other.status, other.headers.get('x-keywarden-code')]).toEqual([403, 'OUT_OF_SCOPE']);
  const wf = await forward(single.secret, 'GET', '/anything', { query: `?workflowId=${workflowId}` });
  expect([wf.status, wf.headers.get('x-keywarden-code')]).toEqual([403, 'OUT_OF_SCOPE']);
});

test('denials as the gateway: 401 with WWW-Authenticate, 429 with Retry-After, each with X-Keywarden-Code', async () => {
  const none = await forward(null, 'GET', `/v1/agents/${agentId}/x`);
  expect([none.status, none.headers.get('www-authenticate'), none.headers.get('x-keywarden-code'), (await none.json()).error.code]).toEqual([401, 'Bearer', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  const unknown = await forward('ak_prod_nope', 'GET', `/v1/agents/${agentId}/x`);
  expect([unknown.status, unknown.headers.get('x-keywarden-code')]).toEqual([401, 'NOT_FOUND']);
  const revoked = await key({});
  await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: revoked.id }, acct.secret);
  const r = await forward(revoked.secret, 'GET', `/v1/agents/${agentId}/x`);
  expect([r.status, r.headers.get('x-keywarden-code')]).toEqual([401, 'REVOKED']);
  const k = await key({ rateLimits: [{ window: 'MINUTE', limit: 1 }] });
  expect((await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`)).status).toBe(200);
  const slow = await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`);
  expect([slow.status, slow.headers.get('x-keywarden-code'), (await slow.json()).error.code, slow.headers.get('ratelimit-remaining')]).toEqual([429, 'RATE_LIMITED', 'RATE_LIMITED', '0']);
  expect(Number(slow.headers.get('retry-after'))).toBeGreaterThan(0);
});

test('keys with bandwidth or concurrency limits are refused with 403 FORWARD_AUTH_UNSUPPORTED, their quota untouched', async () => {
  const bw = await key({ bandwidth: { bytes: 1000, period: 'DAY' }, quota: { units: 5, period: 'DAY' } });
  const conc = await key({ maxConcurrent: 2 });
  for (const k of [bw, conc]) {
    const res = await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`);
    expect([res.status, res.headers.get('x-keywarden-code'), (await res.json()).error.code]).toEqual([403, 'FORWARD_AUTH_UNSUPPORTED', 'FORWARD_AUTH_UNSUPPORTED']);
  }
  const v = await h.verify({ key: bw.secret, cost: 0 });
  expect([v.body.code, v.body.quota.remaining]).toEqual(['VALID', 5]);
});

test('bad input answers 400 naming the problem and counts nothing', async () => {
  const k = await key({ permission: 'FULL_ACCESS', rateLimits: [{ window: 'MINUTE', limit: 2 }] });
  const path = `/v1/agents/${agentId}/x`;
  const cases: [Promise<Response>, RegExp][] = [
    [fetch(`${h.url}/v1/auth/forward`, { headers: { authorization: `Bearer ${k.secret}` } }), /X-Forwarded-Method .* X-Original-Method .* X-Forwarded-Uri .* X-Original-URI/],
    [fetch(`${h.url}/v1/auth/forward`, { headers: { authorization: `Bearer ${k.secret}`, 'x-original-method': 'GET' } }), /missing: X-Forwarded-Uri \(Traefik, Caddy\) or X-Original-URI \(nginx\)$/],
    [forward(k.secret, 'GET', '/api/reports'), /names no agent or workflow.*agentId, workflowId, permission, permissions/],
    [forward(k.secret, 'GET', path, { query: '?permission=ROOT' }), /^permission: must be one of READ_ONLY/],
    [forward(k.secret, 'GET', path, { query: '?permissions=agents.execute%20AND%20(' }), /^permissions: /],
    [forward(k.secret, 'GET', '/x', { query: `?agentId=${agentId}&workflowId=${workflowId}` }), /agentId or workflowId, not both/],
    [forward(k.secret, 'GET', '/x', { query: '?agentId=' }), /^agentId: must be a non-empty string id/],
    [forward(k.secret, 'GET', '/v1/agents/%E0%A4%A/x'), /percent-encoding/],
    [forward(k.secret, 'GET', 'v1/agents/x'), /starting with \//],
  ];
  for (const [pending, message] of cases) {
    const res = await pending;
    const body = await res.json();
    expect([res.status, body.error.code]).toEqual([400, 'BAD_REQUEST']);
    expect(body.error.message).toMatch(message);
  }
  // The two requests the rate limit allows are still there.
  expect((await forward(k.secret, 'GET', path)).status).toBe(200);
  expect((await forward(k.secret, 'GET', path)).status).toBe(200);
  expect((await forward(k.secret, 'GET', path)).status).toBe(429);
  const other = await fetch(`${h.url}/v1/auth/forward`, { method: 'OPTIONS' });
  expect([other.status, other.headers.get('allow')]).toEqual([405, 'GET, POST, PUT, PATCH, DELETE, HEAD']);
});

test('decisions are counted with via="forward" in the metrics', async () => {
  const k = await key({});
  await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`);
  await forward(k.secret, 'DELETE', `/v1/agents/${agentId}/x`);
  const text = await (await fetch(`${h.url}/metrics`)).text();
  expect(text).toMatch(/keywarden_verify_decisions_total\{code="VALID",via="forward"\} [1-9]/);
  expect(text).toMatch(/keywarden_verify_decisions_total\{code="INSUFFICIENT_PERMISSIONS",via="forward"\} [1-9]/);
});

test("permissions on the auth URL: a permission query over the key's permission strings, answered with X-Keywarden-Permissions", async () => {
  const k = await key({ permission: 'EXECUTE', permissions: ['invoices.read', 'agents.run'] });
  const ok = await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`, { query: `?permissions=${encodeURIComponent('invoices.read AND (agents.* OR admin)')}` });
  expect([ok.status, ok.headers.get('x-keywarden-permissions')?.split(',').sort()]).toEqual([200, ['agents.run', 'invoices.read']]);
  const no = await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`, { query: `?permissions=${encodeURIComponent('invoices.write OR billing.*')}` });
  expect([no.status, no.headers.get('x-keywarden-code')]).toEqual([403, 'INSUFFICIENT_PERMISSIONS']);
  const malformed = await forward(k.secret, 'GET', `/v1/agents/${agentId}/x`, { query: `?permissions=${encodeURIComponent('invoices.read AND')}` });
  expect([malformed.status, (await malformed.json()).error.message]).toEqual([400, expect.stringMatching(/^permissions: the query "invoices.read AND" is malformed/)]);
});
