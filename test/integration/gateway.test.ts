import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { configureUpstreams } from '../../src/agents/upstream-policy';
import { clock } from '../../src/infra/clock';
import { logger } from '../../src/infra/logger';
import { startHarness, type Harness } from '../helpers/harness';

// The gateway in front of agents and workflows: auth, method -> permission, proxying, the
// 401/403/429 mapping, RateLimit headers, concurrency slots and bandwidth.

let h: Harness;
let upstream: http.Server;
let upstreamUrl: string;
let acct: { accountId: string; secret: string };
let agentId: string;
let otherAgentId: string;
let workflowId: string;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
/** Every request the upstream began to receive, body complete or not. */
const started: string[] = [];

beforeAll(async () => {
  // The test upstream listens on loopback (UPSTREAM_ALLOW_PRIVATE_NETWORKS=true).
  configureUpstreams({ allowPrivateNetworks: true });
  upstream = http.createServer((req, res) => {
    started.push(req.url!);
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url!.includes('/slow')) {
        const t = setTimeout(() => res.end('slow done'), 1500);
        res.on('close', () => clearTimeout(t));
        return;
      }
      if (req.url!.includes('/big')) return res.end('x'.repeat(800));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, method: req.method, url: req.url }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/base`;
  h = await startHarness({ app: { gateway: { upstreamTimeoutMs: 1000, maxBodyBytes: 2000, bufferBodyBytes: 1000 } } });
  acct = await h.newAccount('gateway');
  const r = await h.gql(`mutation($u: String) { a: createAgent(input: { name: "a", upstreamUrl: $u }) { id } b: createAgent(input: { name: "b", upstreamUrl: $u }) { id } }`, { u: upstreamUrl }, acct.secret);
  agentId = r.data.a.id;
  otherAgentId = r.data.b.id;
  const w = await h.gql(`mutation($u: String, $ids: [ID!]) { createWorkflow(input: { name: "w", upstreamUrl: $u, agentIds: $ids }) { id } }`, { u: upstreamUrl, ids: [agentId] }, acct.secret);
  workflowId = w.data.createWorkflow.id;
});
afterAll(async () => {
  await h.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});
afterEach(() => {
  clock.reset();
  jest.restoreAllMocks();
});

async function key(input: Record<string, unknown>) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'g', type: 'PRODUCTION', ...input } }, acct.secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}

function call(path: string, secret: string | null, init: RequestInit = {}) {
  return fetch(`${h.url}${path}`, { ...init, headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(init.headers as Record<string, string>) } });
}

test('a valid key is proxied to the upstream with path and query, without its Authorization header', async () => {
  const k = await key({
    permission: 'EXECUTE',
    rateLimits: [
      { window: 'MINUTE', limit: 50 },
      { window: 'HOUR', limit: 500 },
    ],
  });
  const res = await call(`/v1/agents/${agentId}/hello/world?x=1`, k.secret, { method: 'POST', body: 'payload', headers: { 'x-custom': 'yes' } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true, method: 'POST', url: '/base/hello/world?x=1' });
  const last = seen[seen.length - 1];
  expect(last.body).toBe('payload');
  expect(last.headers.authorization).toBeUndefined();
  expect(last.headers['x-custom']).toBe('yes');
  expect(last.headers['x-keywarden-key-id']).toBe(k.id);
  expect(res.headers.get('ratelimit-limit')).toBe('50');
  expect(res.headers.get('ratelimit-remaining')).toBe('49');
  expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(0);
});

test('workflow routes proxy to the workflow upstream', async () => {
  const k = await key({ scope: { kind: 'WORKFLOW', workflowIds: [workflowId] } });
  const res = await call(`/v1/workflows/${workflowId}/run`, k.secret, { method: 'POST', body: '{}' });
  expect(res.status).toBe(200);
  expect((await res.json()).url).toBe('/base/run');
});

describe('denials', () => {
  test('401 with WWW-Authenticate: missing, malformed, unknown, expired, revoked keys', async () => {
    const expiring = await key({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
    const revoked = await key({});
    await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: revoked.id }, acct.secret);
    const cases: [string | null, Record<string, string>, string][] = [
      [null, {}, 'UNAUTHENTICATED'],
      [null, { authorization: 'Basic abc' }, 'UNAUTHENTICATED'],
      ['ak_prod_nope', {}, 'NOT_FOUND'],
      [revoked.secret, {}, 'REVOKED'],
    ];
    for (const [secret, headers, code] of cases) {
      const res = await call(`/v1/agents/${agentId}/x`, secret, { headers });
      expect([res.status, (await res.json()).error.code]).toEqual([401, code]);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    clock.advance(61_000);
    const res = await call(`/v1/agents/${agentId}/x`, expiring.secret);
    expect([res.status, (await res.json()).error.code]).toEqual([401, 'EXPIRED']);
  });

  test('403 for permission by method, scope, IP, window, country and condition', async () => {
    const reader = await key({ permission: 'READ_ONLY' });
    expect((await call(`/v1/agents/${agentId}/x`, reader.secret)).status).toBe(200);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await call(`/v1/agents/${agentId}/x`, reader.secret, { method });
      expect([method, res.status, (await res.json()).error.code]).toEqual([method, 403, 'INSUFFICIENT_PERMISSIONS']);
    }
    const manager = await key({ permission: 'MANAGE' });
    expect((await call(`/v1/agents/${agentId}/x`, manager.secret, { method: 'PATCH' })).status).toBe(200);
    expect((await call(`/v1/agents/${agentId}/x`, manager.secret, { method: 'DELETE' })).status).toBe(403);

    const single = await key({ scope: { kind: 'SINGLE_AGENT', agentId } });
    const scoped = await call(`/v1/agents/${otherAgentId}/x`, single.secret);
    expect([scoped.status, (await scoped.json()).error.code]).toEqual([403, 'OUT_OF_SCOPE']);

    const ipKey = await key({ ipAllowlist: ['192.0.2.0/24'] });
    const ipRes = await call(`/v1/agents/${agentId}/x`, ipKey.secret);
    expect([ipRes.status, (await ipRes.json()).error.code]).toEqual([403, 'IP_NOT_ALLOWED']);

    const other = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'][(new Date().getUTCDay() + 3) % 7];
    const windowKey = await key({ accessWindows: [{ days: [other], start: '00:00', end: '24:00', timeZone: 'UTC' }] });
    const wRes = await call(`/v1/agents/${agentId}/x`, windowKey.secret);
    expect([wRes.status, (await wRes.json()).error.code]).toEqual([403, 'OUTSIDE_ACCESS_WINDOW']);

    const countryKey = await key({ allowedCountries: ['FR'] });
    const cRes = await call(`/v1/agents/${agentId}/x`, countryKey.secret);
    expect([cRes.status, (await cRes.json()).error.code]).toEqual([403, 'COUNTRY_NOT_ALLOWED']);

    const condKey = await key({ condition: 'request.method == "GET" && request.path.startsWith("/public/") && request.headers["x-env"] == "prod"' });
    expect((await call(`/v1/agents/${agentId}/public/a`, condKey.secret, { headers: { 'x-env': 'prod' } })).status).toBe(200);
    const condRes = await call(`/v1/agents/${agentId}/private/a`, condKey.secret, { headers: { 'x-env': 'prod' } });
    expect([condRes.status, (await condRes.json()).error.code]).toEqual([403, 'CONDITION_FAILED']);
  });

  test('429 with Retry-After and RateLimit headers for rate, quota and bandwidth', async () => {
    const rate = await key({ rateLimits: [{ window: 'MINUTE', limit: 2 }] });
    await call(`/v1/agents/${agentId}/x`, rate.secret);
    await call(`/v1/agents/${agentId}/x`, rate.secret);
    const limited = await call(`/v1/agents/${agentId}/x`, rate.secret);
    expect([limited.status, (await limited.json()).error.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');

    const quota = await key({ quota: { units: 1, period: 'DAY' }, rateLimits: [] });
    expect((await call(`/v1/agents/${agentId}/x`, quota.secret)).status).toBe(200);
    const q = await call(`/v1/agents/${agentId}/x`, quota.secret);
    expect([q.status, (await q.json()).error.code]).toEqual([429, 'QUOTA_EXCEEDED']);
    expect(q.headers.get('retry-after')).not.toBeNull();

    // Bandwidth counts request and response bodies: an 800-byte answer uses most of 1000.
    const bw = await key({ bandwidth: { bytes: 1000, period: 'DAY' }, rateLimits: [] });
    const big = await call(`/v1/agents/${agentId}/big`, bw.secret);
    expect(big.status).toBe(200);
    expect((await big.text()).length).toBe(800);
    await new Promise((r) => setTimeout(r, 50));
    const over = await call(`/v1/agents/${agentId}/x`, bw.secret, { method: 'POST', body: 'y'.repeat(300), headers: { 'content-type': 'text/plain' } });
    expect(over.status).toBe(429);
    expect((await over.json()).error.code).toBe('BANDWIDTH_EXCEEDED');
  });

  test("RateLimit-* follow the tightest window of the key and its identity, and the identity's limit is shared by its keys", async () => {
    const ident = await h.gql(`mutation { createIdentity(input: { externalId: "gw-cust", rateLimits: [{ window: MINUTE, limit: 3 }] }) { id } }`, {}, acct.secret);
    const identityId = ident.data.createIdentity.id as string;
    const a = await key({ identityId, rateLimits: [{ window: 'MINUTE', limit: 50 }] });
    const b = await key({ identityId, rateLimits: [{ window: 'MINUTE', limit: 50 }] });
    const first = await call(`/v1/agents/${agentId}/x`, a.secret);
    expect(first.status).toBe(200);
    // The identity's 3 per minute is tighter than the key's 50: the headers follow it.
    expect([first.headers.get('ratelimit-limit'), first.headers.get('ratelimit-remaining')]).toEqual(['3', '2']);
    const second = await call(`/v1/agents/${agentId}/x`, b.secret);
    expect([second.status, second.headers.get('ratelimit-limit'), second.headers.get('ratelimit-remaining')]).toEqual([200, '3', '1']);
    expect((await call(`/v1/agents/${agentId}/x`, a.secret)).status).toBe(200);
    const limited = await call(`/v1/agents/${agentId}/x`, b.secret);
    expect([limited.status, (await limited.json()).error.code, limited.headers.get('ratelimit-limit'), limited.headers.get('ratelimit-remaining')]).toEqual([429, 'RATE_LIMITED', '3', '0']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A key of no identity keeps its own window in its headers.
    const alone = await key({ rateLimits: [{ window: 'MINUTE', limit: 50 }] });
    const own = await call(`/v1/agents/${agentId}/x`, alone.secret);
    expect([own.status, own.headers.get('ratelimit-limit'), own.headers.get('ratelimit-remaining')]).toEqual([200, '50', '49']);
  });

  test('an oversize body answers 413', async () => {
    const k = await key({ permission: 'EXECUTE' });
    const res = await call(`/v1/agents/${agentId}/x`, k.secret, { method: 'POST', body: 'z'.repeat(3000) });
    expect(res.status).toBe(413);
  });

  test('a small body goes upstream whole; a larger one with a declared length streams', async () => {
    const k = await key({ permission: 'EXECUTE' });
    for (const size of [999, 1000, 1001, 2000]) {
      const res = await call(`/v1/agents/${agentId}/sized`, k.secret, { method: 'POST', body: 's'.repeat(size), headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(200);
      expect(seen[seen.length - 1]).toMatchObject({ url: '/base/sized', body: 's'.repeat(size) });
      expect(seen[seen.length - 1].headers['content-length']).toBe(String(size));
    }
  });

  test('a client that leaves before its small body is complete: nothing reaches the upstream and it held no slot', async () => {
    const k = await key({ permission: 'EXECUTE', maxConcurrent: 1 });
    const errors = jest.spyOn(logger, 'error');
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /v1/agents/${agentId}/partial HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${k.secret}\r\nContent-Length: 500\r\n\r\n${'p'.repeat(100)}`);
    await new Promise((r) => setTimeout(r, 300));
    // Still uploading: the key's one slot is not taken by it.
    expect((await call(`/v1/agents/${agentId}/during-partial`, k.secret)).status).toBe(200);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(started).not.toContain('/base/partial');
    expect(errors).not.toHaveBeenCalled(); // the client left: not a failure of ours
    expect((await call(`/v1/agents/${agentId}/after-partial`, k.secret)).status).toBe(200);
  });

  test('a chunked body is streamed through, and cut off with 413 once it passes the limit', async () => {
    const k = await key({ permission: 'EXECUTE' });
    const chunked = (parts: string[]) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${h.url}/v1/agents/${agentId}/chunked`, { method: 'POST', headers: { authorization: `Bearer ${k.secret}`, 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        for (const p of parts) req.write(p);
        req.end();
      });
    const ok = await chunked(['a'.repeat(700), 'b'.repeat(700)]);
    expect(ok.status).toBe(200);
    expect(seen[seen.length - 1]).toMatchObject({ url: '/base/chunked', body: 'a'.repeat(700) + 'b'.repeat(700) });
    const tooBig = await chunked(['a'.repeat(1500), 'b'.repeat(1500)]);
    expect([tooBig.status, JSON.parse(tooBig.body).error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  test('an upstream that refuses connections answers 502 UPSTREAM_UNAVAILABLE and frees the slot', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await h.gql(`mutation($u: String) { createAgent(input: { name: "down", upstreamUrl: $u }) { id } }`, { u: `http://127.0.0.1:${port}` }, acct.secret);
    const k = await key({ maxConcurrent: 1 });
    for (let i = 0; i < 2; i++) {
      const res = await call(`/v1/agents/${r.data.createAgent.id}/x`, k.secret);
      expect([res.status, (await res.json()).error.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    }
  });

  test('an agent without upstreamUrl answers 502 NO_UPSTREAM', async () => {
    const r = await h.gql(`mutation { createAgent(input: { name: "bare" }) { id } }`, {}, acct.secret);
    const k = await key({});
    const res = await call(`/v1/agents/${r.data.createAgent.id}/x`, k.secret);
    expect([res.status, (await res.json()).error.code]).toEqual([502, 'NO_UPSTREAM']);
  });
});

describe('concurrency slots', () => {
  test('maxConcurrent is enforced and the slot is released after a client abort', async () => {
    const k = await key({ maxConcurrent: 1 });
    const controller = new AbortController();
    const first = call(`/v1/agents/${agentId}/slow`, k.secret, { signal: controller.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 200));
    const second = await call(`/v1/agents/${agentId}/x`, k.secret);
    expect([second.status, (await second.json()).error.code]).toEqual([429, 'CONCURRENCY_EXCEEDED']);
    expect(second.headers.get('retry-after')).toBe('1');
    controller.abort();
    await first;
    await new Promise((r) => setTimeout(r, 200));
    expect((await call(`/v1/agents/${agentId}/x`, k.secret)).status).toBe(200);
  });

  test('an upstream timeout answers 504 and frees the slot', async () => {
    const k = await key({ maxConcurrent: 1 });
    const res = await call(`/v1/agents/${agentId}/slow`, k.secret);
    expect(res.status).toBe(504);
    await new Promise((r) => setTimeout(r, 100));
    expect((await call(`/v1/agents/${agentId}/x`, k.secret)).status).toBe(200);
  });

  test('a finished request frees its slot', async () => {
    const k = await key({ maxConcurrent: 1 });
    for (let i = 0; i < 3; i++) expect((await call(`/v1/agents/${agentId}/x`, k.secret)).status).toBe(200);
  });
});
