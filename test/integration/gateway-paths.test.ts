import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configureUpstreams } from '../../src/agents/upstream-policy';
import { startHarness, type Harness } from '../helpers/harness';
import { requestFrom } from '../helpers/requests';

// Gateway paths are normalized once: a key scoped to one agent cannot reach another agent's
// files on a shared upstream host by dot segments or encoded slashes, and a condition on
// request.path judges the very path the upstream receives. Requests are sent byte for byte as
// written (no client-side normalization).

let h: Harness;
let upstream: http.Server;
let master: string;
let agentA: string;
let agentB: string;
const seen: string[] = [];

beforeAll(async () => {
  configureUpstreams({ allowPrivateNetworks: true }); // the test upstream listens on loopback
  upstream = http.createServer((req, res) => {
    seen.push(req.url!);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const host = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  h = await startHarness();
  master = (await h.newAccount('gw-paths')).secret;
  const r = await h.gql(
    `mutation($a: String, $b: String) { a: createAgent(input: { name: "a", upstreamUrl: $a }) { id } b: createAgent(input: { name: "b", upstreamUrl: $b }) { id } }`,
    { a: `${host}/agents/a`, b: `${host}/agents/b` },
    master,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  agentA = r.data.a.id;
  agentB = r.data.b.id;
});
afterAll(async () => {
  await h.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

async function key(input: Record<string, unknown>): Promise<string> {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret } }`, { input: { name: 'k', type: 'PRODUCTION', ...input } }, master);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createKey.secret;
}

const get = (path: string, secret: string) => requestFrom(`${h.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });

test("dot segments and encoded slashes cannot climb out of the agent's prefix: 400, and the upstream sees nothing", async () => {
  const scoped = await key({ scope: { kind: 'SINGLE_AGENT', agentId: agentA } });
  const before = seen.length;
  for (const rest of ['/../b/secret', '/%2e%2e/b/secret', '/.%2E/b/secret', '/x/../../b/secret', '/x%2f..%2f..%2fb/secret', '/..%5cb%5csecret', '/x\\..\\..\\b', '/%252e%252e/b/secret', '/..;/b/secret', '/%zz']) {
    const res = await get(`/v1/agents/${agentA}${rest}`, scoped);
    expect([rest, res.status, res.body?.error?.code]).toEqual([rest, 400, 'BAD_PATH']);
  }
  expect(seen.slice(before)).toEqual([]);
  // Inside the prefix, dot segments are resolved and the upstream gets the result.
  expect((await get(`/v1/agents/${agentA}/x/../files/./report`, scoped)).body).toEqual({ url: '/agents/a/files/report' });
  expect((await get(`/v1/agents/${agentA}/x/%2e%2e/%66iles`, scoped)).body).toEqual({ url: '/agents/a/files' });
  // The other agent stays out of scope by its own route.
  expect((await get(`/v1/agents/${agentB}/secret`, scoped)).status).toBe(403);
});

test('conditions see the normalized path, the same one the upstream receives', async () => {
  const publicOnly = await key({ condition: 'request.path.startsWith("/public/")' });
  for (const path of ['/public/../admin', '/public/%2e%2e/admin', '/public//../admin', '/public/x/../../admin']) {
    const res = await get(`/v1/agents/${agentA}${path}`, publicOnly);
    expect([path, res.status, res.body?.error?.code]).toEqual([path, 403, 'CONDITION_FAILED']);
  }
  expect((await get(`/v1/agents/${agentA}/public/./a`, publicOnly)).body).toEqual({ url: '/agents/a/public/a' });

  const notAdmin = await key({ condition: '!request.path.startsWith("/admin")' });
  for (const path of ['/%61dmin/users', '//admin/users', '/x/../admin/users', '/%2e/admin/users']) {
    const res = await get(`/v1/agents/${agentA}${path}`, notAdmin);
    expect([path, res.status, res.body?.error?.code]).toEqual([path, 403, 'CONDITION_FAILED']);
  }
  expect((await get(`/v1/agents/${agentA}/users?x=1`, notAdmin)).body).toEqual({ url: '/agents/a/users?x=1' });
});
