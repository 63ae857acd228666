import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configureUpstreams } from '../../src/agents/upstream-policy';
import { systemResolve, type Resolve } from '../../src/infra/ssrf';
import { startHarness, type Harness } from '../helpers/harness';

// Agents' and workflows' upstreamUrl under the webhook address policy: refused when set if it
// points at loopback, private, link-local or metadata addresses (names resolved), and checked
// again on every connection the gateway opens (a name rebound to a private address, or a
// loopback URL stored while the switch was on, reaches nothing).

let h: Harness;
let master: string;
let upstream: http.Server;
let port: number;
const seen: string[] = [];
/** What test names resolve to; anything else goes to the system resolver. */
const names = new Map<string, string>();
const resolve: Resolve = async (host) => (names.has(host) ? [{ address: names.get(host)!, family: names.get(host)!.includes(':') ? 6 : 4 }] : systemResolve(host));

beforeAll(async () => {
  configureUpstreams({ allowPrivateNetworks: false, resolve });
  upstream = http.createServer((req, res) => {
    seen.push(req.url!);
    res.end('reached');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = (upstream.address() as AddressInfo).port;
  h = await startHarness();
  master = (await h.newAccount('upstreams')).secret;
});
afterAll(async () => {
  configureUpstreams({ allowPrivateNetworks: false, resolve: systemResolve });
  await h.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});
afterEach(() => configureUpstreams({ allowPrivateNetworks: false }));

let n = 0;
async function createAgent(url: string) {
  const r = await h.gql(`mutation($u: String, $n: String!) { createAgent(input: { name: $n, upstreamUrl: $u }) { id upstreamUrl } }`, { u: url, n: `agent-${n++}` }, master);
  return { id: r.data?.createAgent?.id as string | undefined, error: r.errors?.[0] };
}
async function createWorkflow(url: string) {
  const r = await h.gql(`mutation($u: String, $n: String!) { createWorkflow(input: { name: $n, upstreamUrl: $u }) { id } }`, { u: url, n: `wf-${n++}` }, master);
  return { id: r.data?.createWorkflow?.id as string | undefined, error: r.errors?.[0] };
}

const REFUSED = [
  'http://127.0.0.1:4000/metrics',
  'http://127.1:4000/',
  'http://2130706433/',
  'http://0x7f000001/',
  'http://0.0.0.0:4000/',
  'http://[::1]:4000/',
  'http://[::ffff:127.0.0.1]:4000/',
  'http://[::ffff:7f00:1]/',
  'http://localhost:4000/',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fe80::1]/',
  'http://[fd00:ec2::254]/',
  'http://100.100.100.200/',
  'http://10.0.0.5/',
  'http://172.16.3.4/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://[fc00::1]/',
  'http://[64:ff9b::a9fe:a9fe]/',
  'http://internal.example.test/',
];

test.each(REFUSED)('an agent or workflow upstreamUrl %s is refused when set, naming input.upstreamUrl', async (url) => {
  names.set('internal.example.test', '10.1.2.3');
  for (const made of [await createAgent(url), await createWorkflow(url)]) {
    expect(made.id).toBeUndefined();
    expect(made.error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.upstreamUrl' });
  }
});

test('public addresses and names are accepted', async () => {
  names.set('agent.example.test', '93.184.215.14');
  expect((await createAgent('https://agent.example.test/api')).id).toBeDefined();
  expect((await createAgent('http://8.8.8.8:8080/')).id).toBeDefined();
  expect((await createWorkflow('https://[2606:4700::1111]/')).id).toBeDefined();
});

test('UPSTREAM_ALLOW_PRIVATE_NETWORKS lets loopback and private upstreams in; link-local and metadata stay refused', async () => {
  configureUpstreams({ allowPrivateNetworks: true });
  expect((await createAgent('http://10.0.0.5/')).id).toBeDefined();
  expect((await createAgent(`http://127.0.0.1:${port}/`)).id).toBeDefined();
  for (const url of ['http://169.254.169.254/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[fe80::1]/']) {
    expect((await createAgent(url)).error?.extensions?.code).toBe('BAD_USER_INPUT');
  }
  const refused = await createAgent('http://[::1]/');
  configureUpstreams({ allowPrivateNetworks: false });
  expect((await createAgent('http://[::1]/')).error?.message).toContain('UPSTREAM_ALLOW_PRIVATE_NETWORKS');
  expect(refused.id).toBeDefined();
});

async function gatewayKey(): Promise<string> {
  const r = await h.gql(`mutation { createKey(input: { name: "gw", type: PRODUCTION }) { secret } }`, {}, master);
  return r.data.createKey.secret;
}

test('a name that resolved to a public address when set and to loopback at connect time reaches nothing: 502 UPSTREAM_BLOCKED', async () => {
  names.set('rebind.example.test', '93.184.215.14');
  const agent = await createAgent(`http://rebind.example.test:${port}/`);
  expect(agent.id).toBeDefined();
  names.set('rebind.example.test', '127.0.0.1');
  const before = seen.length;
  const res = await fetch(`${h.url}/v1/agents/${agent.id}/metrics`, { headers: { authorization: `Bearer ${await gatewayKey()}` } });
  expect(res.status).toBe(502);
  expect((await res.json()).error.code).toBe('UPSTREAM_BLOCKED');
  expect(seen.length).toBe(before);
});

test('a loopback upstream stored while the switch was on is refused at connect time once it is off', async () => {
  configureUpstreams({ allowPrivateNetworks: true });
  const agent = await createAgent(`http://127.0.0.1:${port}/`);
  const secret = await gatewayKey();
  expect(await (await fetch(`${h.url}/v1/agents/${agent.id}/x`, { headers: { authorization: `Bearer ${secret}` } })).text()).toBe('reached');
  configureUpstreams({ allowPrivateNetworks: false });
  const before = seen.length;
  const res = await fetch(`${h.url}/v1/agents/${agent.id}/x`, { headers: { authorization: `Bearer ${secret}` } });
  expect([res.status, (await res.json()).error.code]).toEqual([502, 'UPSTREAM_BLOCKED']);
  expect(seen.length).toBe(before);
});
