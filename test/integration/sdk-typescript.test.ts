import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { configureUpstreams } from '../../src/agents/upstream-policy';
import { isolatedPrefix, startHarness, type Harness } from '../helpers/harness';
import { ROOT, run, scratchProject, type ScratchProject } from '../helpers/scratch-npm';

// @keywarden/sdk as a user gets it: built, packed, installed from the tarball into a scratch
// project (offline, from the local npm cache), imported as ESM and as CommonJS, and run against
// a real Keywarden: the client, and Express, Fastify and Hono middleware answering like the gateway.

const SDK = path.join(ROOT, 'sdks', 'typescript');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'sdk-typescript');
const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
const STYLES = ['esm', 'cjs'] as const;
type Framework = (typeof FRAMEWORKS)[number];
type Style = (typeof STYLES)[number];

let h: Harness;
let acct: { accountId: string; keyId: string; secret: string };
let agentId: string;
let otherAgentId: string;
let workflowId: string;
let upstream: http.Server;
let blackhole: net.Server;
const held: net.Socket[] = [];
let scratch: ScratchProject;
const apps: Partial<Record<Style, { child: ChildProcess; ports: Record<Framework, number>; checks: any }>> = {};
let leaked: { secret: string; id: string };
let permissionQueriesSupported: boolean;

/** A fresh client address per call: brute-force counts and IP allowlists are per address. */
const ipPrefix = `10.${crypto.randomInt(1, 250)}`;
let ipCounter = 0;
const freshIp = () => `${ipPrefix}.${Math.floor(ipCounter / 250) + 1}.${(ipCounter++ % 250) + 1}`;
const PINNED_IP = `${ipPrefix}.251.1`;

async function key(input: Record<string, unknown>) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'sdk', type: 'PRODUCTION', ...input } }, acct.secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}

async function startApp(style: Style, cfg: Record<string, unknown>) {
  const child = spawn(process.execPath, [path.join(scratch.dir, style === 'esm' ? 'server.mjs' : 'server.cjs')], {
    cwd: scratch.dir,
    env: { ...process.env, KW_SCRATCH: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const ready = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(line.slice(6));
    });
    child.on('exit', (code) => reject(new Error(`${style} scratch app exited (${code}): ${out}\n${err}`)));
  });
  apps[style] = { child, ...JSON.parse(ready) };
}

beforeAll(async () => {
  configureUpstreams({ allowPrivateNetworks: true }); // the test upstream listens on loopback
  upstream = http.createServer((_req, res) => res.end('{"upstream":true}'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  blackhole = net.createServer((s) => held.push(s)); // accepts, never answers
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));

  // Counters of its own: unknown keys other test files present from 127.0.0.1 do not count here.
  const runPrefix = process.env.KEYWARDEN_REDIS_PREFIX;
  process.env.KEYWARDEN_REDIS_PREFIX = isolatedPrefix('sdk-ts');
  h = await startHarness({ app: { trustProxy: ['loopback'], bruteForce: { maxFailures: 6, windowMs: 60_000, blockMs: 60_000 } } });
  process.env.KEYWARDEN_REDIS_PREFIX = runPrefix;
  acct = await h.newAccount('sdk-ts');
  const u = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const r = await h.gql(`mutation($u: String) { a: createAgent(input: { name: "a", upstreamUrl: $u }) { id } b: createAgent(input: { name: "b", upstreamUrl: $u }) { id } }`, { u }, acct.secret);
  [agentId, otherAgentId] = [r.data.a.id, r.data.b.id];
  workflowId = (await h.gql(`mutation($ids: [ID!]) { createWorkflow(input: { name: "w", agentIds: $ids }) { id } }`, { ids: [agentId] }, acct.secret)).data.createWorkflow.id;
  const valid = await key({});
  leaked = await key({});
  permissionQueriesSupported = Array.isArray((await h.verify({ key: valid.secret, permissions: 'agents.execute' })).body.permissions);

  await run(process.execPath, [path.join(SDK, 'scripts', 'build.mjs')], { cwd: SDK });
  const packDir = fs.mkdtempSync(path.join(fs.realpathSync(require('node:os').tmpdir()), 'kw-pack-'));
  const packed = JSON.parse((await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: SDK })).stdout) as { filename: string }[];
  const sdkDeps = JSON.parse(fs.readFileSync(path.join(SDK, 'package.json'), 'utf8')).dependencies as Record<string, string>;
  scratch = await scratchProject(path.join(packDir, packed[0].filename), sdkDeps, ['express', 'fastify', 'hono', '@hono/node-server']);
  fs.rmSync(packDir, { recursive: true, force: true });
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(scratch.dir, f));

  const cfg = {
    url: h.url,
    down: `http://127.0.0.1:${closedPort}`,
    slow: `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`,
    agentId,
    workflowId,
    master: acct.secret,
    validKey: valid.secret,
    leakedKey: leaked.secret,
    probeIp: freshIp(),
  };
  await Promise.all(STYLES.map((s) => startApp(s, cfg)));
}, 300_000);

afterAll(async () => {
  for (const app of Object.values(apps)) app?.child.kill();
  scratch?.remove();
  held.forEach((s) => s.destroy());
  await new Promise((r) => blackhole?.close(r));
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
  await h?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  ms: number;
}

async function call(style: Style, fw: Framework, route: string, secret: string | null, ip = freshIp()): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${apps[style]!.ports[fw]}${route}`, {
    headers: { 'x-forwarded-for': ip, ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - started };
}

const codeOf = (a: Answer) => [a.status, a.json?.error?.code ?? a.json?.keywarden?.code];

describe.each(STYLES.flatMap((s) => FRAMEWORKS.map((f) => [s, f] as const)))('%s import, %s middleware', (style, fw) => {
  test('allowed: the handler sees the result and the answer carries the RateLimit headers', async () => {
    const k = await key({ rateLimits: [{ window: 'MINUTE', limit: 50 }] });
    const a = await call(style, fw, '/agent', k.secret);
    expect(codeOf(a)).toEqual([200, 'VALID']);
    expect(a.json.keywarden).toMatchObject({ verified: true, valid: true, keyId: k.id, accountId: acct.accountId, retryAfter: null });
    expect([a.headers.get('ratelimit-limit'), a.headers.get('ratelimit-remaining')]).toEqual(['50', '49']);
  });

  test('401 with WWW-Authenticate: no key, an unknown key, a revoked key', async () => {
    const revoked = await key({});
    await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: revoked.id }, acct.secret);
    for (const [secret, code] of [
      [null, 'UNAUTHENTICATED'],
      ['ak_prod_unknown', 'NOT_FOUND'],
      [revoked.secret, 'REVOKED'],
    ] as const) {
      const a = await call(style, fw, '/agent', secret);
      expect(codeOf(a)).toEqual([401, code]);
      expect(a.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  test('403: a level the key lacks, an agent out of its scope (target from the path), an address off its allowlist', async () => {
    const reader = await key({ permission: 'READ_ONLY' });
    expect(codeOf(await call(style, fw, '/exec', reader.secret))).toEqual([403, 'INSUFFICIENT_PERMISSIONS']);
    const single = await key({ scope: { kind: 'SINGLE_AGENT', agentId } });
    expect(codeOf(await call(style, fw, `/by-param/${agentId}`, single.secret))).toEqual([200, 'VALID']);
    expect(codeOf(await call(style, fw, `/by-param/${otherAgentId}`, single.secret))).toEqual([403, 'OUT_OF_SCOPE']);
    const pinned = await key({ ipAllowlist: [PINNED_IP] });
    expect(codeOf(await call(style, fw, '/agent', pinned.secret, PINNED_IP))).toEqual([200, 'VALID']);
    const off = await call(style, fw, '/agent', pinned.secret);
    expect(codeOf(off)).toEqual([403, 'IP_NOT_ALLOWED']);
    expect([off.headers.get('www-authenticate'), off.headers.get('retry-after')]).toEqual([null, null]);
  });

  test('429 RATE_LIMITED with Retry-After and the RateLimit headers of the spent window', async () => {
    const k = await key({ rateLimits: [{ window: 'MINUTE', limit: 1 }] });
    expect(codeOf(await call(style, fw, '/agent', k.secret))).toEqual([200, 'VALID']);
    const a = await call(style, fw, '/agent', k.secret);
    expect(codeOf(a)).toEqual([429, 'RATE_LIMITED']);
    expect(a.json.error.message).toBe('rate limit exceeded');
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(55);
    expect(Number(a.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect([a.headers.get('ratelimit-limit'), a.headers.get('ratelimit-remaining')]).toEqual(['1', '0']);
  });

  test('a workflow target; a permission query is never let through by a server that cannot evaluate it', async () => {
    const k = await key({ scope: { kind: 'WORKFLOW', workflowIds: [workflowId] } });
    expect(codeOf(await call(style, fw, '/workflow', k.secret))).toEqual([200, 'VALID']);
    const q = await call(style, fw, '/query', k.secret);
    if (permissionQueriesSupported)
      expect(q.status).toBe(403); // the key holds none of the permissions asked for
    else expect([q.status, q.json.error]).toEqual([500, 'KeywardenUnsupportedError']);
  });

  test('Keywarden unreachable: fail-closed answers 503 KEYWARDEN_UNAVAILABLE, fail-open calls the handler unverified', async () => {
    const closed = await call(style, fw, '/down-closed', 'ak_prod_any');
    expect([closed.status, closed.json]).toEqual([503, { error: { code: 'KEYWARDEN_UNAVAILABLE', message: 'Keywarden could not be reached to verify the API key' } }]);
    const open = await call(style, fw, '/down-open', 'ak_prod_any');
    expect(codeOf(open)).toEqual([200, 'UNVERIFIED']);
    expect(open.json.keywarden).toMatchObject({ verified: false, valid: true, keyId: null, error: { name: 'KeywardenUnavailableError' } });
  });

  test('Keywarden silent: the 300 ms timeout answers 503 (closed) or lets through unverified (open)', async () => {
    const closed = await call(style, fw, '/slow-closed', 'ak_prod_any');
    expect(codeOf(closed)).toEqual([503, 'KEYWARDEN_UNAVAILABLE']);
    expect(closed.ms).toBeGreaterThanOrEqual(280);
    expect(closed.ms).toBeLessThan(5000); // a server that never answers: only the deadline ends the call
    const open = await call(style, fw, '/slow-open', 'ak_prod_any');
    expect(codeOf(open)).toEqual([200, 'UNVERIFIED']);
    expect(open.json.keywarden.error.name).toBe('KeywardenTimeoutError');
  });
});

describe.each(STYLES)('%s import, the client', (style) => {
  test('verify, input errors, outages, GraphQL and leaked-key reports against the real server', async () => {
    const c = apps[style]!.checks;
    // One comparison, so a failure shows every outcome at once.
    expect(c).toMatchObject({
      notFound: 'NOT_FOUND',
      valid: { verified: true, valid: true, code: 'VALID', permission: 'EXECUTE', scope: { kind: 'ALL_AGENTS' } },
      badInput: { error: 'KeywardenInputError', field: 'permission' },
      down: { error: 'KeywardenUnavailableError' },
      downIsUnavailable: true,
      slow: { error: 'KeywardenTimeoutError' },
      viewer: { value: { viewer: { key: { id: acct.keyId } } } },
      graphqlError: { error: 'KeywardenGraphQLError', code: 'NOT_FOUND' },
      leaked: { value: { received: 1 } },
    });
    // The 300 ms deadline cut the call to a server that never answers (loose bound: shared CI machines).
    expect(c.slow.ms).toBeLessThan(5000);
  });
});

test('a reported leaked key is revoked', async () => {
  for (let i = 0; i < 50; i++) {
    if ((await h.verify({ key: leaked.secret })).body.code === 'REVOKED') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the key reported by the scratch app as leaked was not revoked');
});

test('the Fastify plugin guards every route of its scope', async () => {
  const k = await key({ scope: { kind: 'SINGLE_AGENT', agentId: otherAgentId } });
  expect(codeOf(await call('esm', 'fastify', '/plugin', k.secret))).toEqual([403, 'OUT_OF_SCOPE']);
  expect(codeOf(await call('cjs', 'fastify', '/plugin', (await key({})).secret))).toEqual([200, 'VALID']);
});

test.each(FRAMEWORKS)('%s: an address that keeps presenting unknown keys gets 429 TOO_MANY_FAILED_ATTEMPTS with Retry-After', async (fw) => {
  const ip = freshIp();
  for (let i = 0; i < 6; i++) expect(codeOf(await call('esm', fw, '/agent', `ak_prod_guess${i}`, ip))).toEqual([401, 'NOT_FOUND']);
  await new Promise((r) => setTimeout(r, 300)); // failures are counted after the answer has gone out
  const a = await call('esm', fw, '/agent', 'ak_prod_guess-last', ip);
  expect(a.json).toEqual({ error: { code: 'TOO_MANY_FAILED_ATTEMPTS', message: 'too many unknown keys from this address' } });
  expect(a.status).toBe(429);
  expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(50);
});

function gateway(route: string, secret: string | null, method = 'GET'): Promise<Answer> {
  return fetch(`${h.url}/v1/agents/${agentId}${route}`, { method, headers: secret ? { authorization: `Bearer ${secret}` } : {} }).then(async (res) => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: JSON.parse(text || 'null'), ms: 0 };
  });
}

function expectSameAnswer(sdk: Answer, gw: Answer) {
  const pick = (a: Answer) => ({
    status: a.status,
    body: a.text,
    contentType: a.headers.get('content-type'),
    wwwAuthenticate: a.headers.get('www-authenticate'),
    limit: a.headers.get('ratelimit-limit'),
    remaining: a.headers.get('ratelimit-remaining'),
    hasRetryAfter: a.headers.has('retry-after'),
  });
  expect(pick(sdk)).toEqual(pick(gw));
  for (const h of ['retry-after', 'ratelimit-reset']) {
    if (gw.headers.has(h)) expect(Math.abs(Number(sdk.headers.get(h)) - Number(gw.headers.get(h)))).toBeLessThanOrEqual(1);
  }
}

test.each(FRAMEWORKS)('%s answers a denial exactly as the gateway does for the same key and code', async (fw) => {
  const revoked = await key({});
  await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: revoked.id }, acct.secret);
  const elsewhere = await key({ scope: { kind: 'SINGLE_AGENT', agentId: otherAgentId }, rateLimits: [{ window: 'MINUTE', limit: 30 }] });
  const reader = await key({ permission: 'READ_ONLY' });
  expectSameAnswer(await call('esm', fw, '/agent', null), await gateway('/x', null));
  expectSameAnswer(await call('esm', fw, '/agent', 'ak_prod_unknown'), await gateway('/x', 'ak_prod_unknown'));
  expectSameAnswer(await call('esm', fw, '/agent', revoked.secret), await gateway('/x', revoked.secret));
  expectSameAnswer(await call('esm', fw, '/agent', elsewhere.secret), await gateway('/x', elsewhere.secret));
  expectSameAnswer(await call('esm', fw, '/exec', reader.secret), await gateway('/x', reader.secret, 'POST'));
  const limited = await key({ rateLimits: [{ window: 'MINUTE', limit: 2 }] });
  expect((await gateway('/x', limited.secret)).status).toBe(200);
  expect((await call('esm', fw, '/agent', limited.secret)).status).toBe(200);
  const gw = await gateway('/x', limited.secret);
  expect(gw.status).toBe(429);
  expectSameAnswer(await call('esm', fw, '/agent', limited.secret), gw);
});
