import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { startHarness, type Harness } from '../helpers/harness';

// The proxy configurations in examples/: nginx (auth_request), Caddy (forward_auth), Traefik
// (ForwardAuth) and Envoy (ext_authz). nginx and Caddy check their own configs and then run them
// in front of a local agent, asking a real Keywarden's /v1/auth/forward (allowed with the
// X-Keywarden-* headers reaching the agent; 401, 403, and 429 with Retry-After reaching the
// client, nginx's through the auth_request_set + error_page recipe; the agent never sees a denied
// request). Traefik and Envoy are not Debian packages: their YAML is parsed and its wiring checked.
// CI sets KEYWARDEN_EXAMPLES_TESTS=required, so a missing nginx or caddy fails there.

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const run = promisify(execFile);
const which = (bin: string) => ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin'].map((d) => path.join(d, bin)).find((p) => fs.existsSync(p)) ?? null;
const NGINX = which('nginx');
const CADDY = which('caddy');
const required = process.env.KEYWARDEN_EXAMPLES_TESTS === 'required';
for (const [name, bin] of [
  ['nginx', NGINX],
  ['caddy', CADDY],
] as const) {
  if (!bin && required) throw new Error(`KEYWARDEN_EXAMPLES_TESTS=required but ${name} is not installed: the .ci/run step "Python SDK" installs it (apt-get install -y nginx caddy)`);
  if (!bin) console.warn(`examples: ${name} checks skipped (apt-get install ${name})`);
}

const read = (rel: string) => fs.readFileSync(path.join(EXAMPLES, rel), 'utf8');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kw-examples-'));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The example's fixed ports (Keywarden 4000, agent 8080, proxy 8000) replaced by the test's. */
function withPorts(text: string, ports: { keywarden: number; agent: number; proxy: number }): string {
  return text.replaceAll('127.0.0.1:4000', `127.0.0.1:${ports.keywarden}`).replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.agent}`).replaceAll(':8000', `:${ports.proxy}`);
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** The keys the proxies present, made in a real Keywarden. */
interface Keys {
  ok: { secret: string; id: string };
  unlimited: { secret: string; id: string };
  scope: string;
  slow: string;
}

interface Stack {
  ports: { keywarden: number; agent: number; proxy: number };
  h: Harness;
  accountId: string;
  agentId: string;
  keys: Keys;
  agent: Seen[];
  stopKeywarden(): Promise<void>;
  close(): Promise<void>;
}

async function makeKeys(h: Harness, master: string, agentId: string, otherAgentId: string): Promise<Keys> {
  const make = async (input: Record<string, unknown>) => {
    const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'proxy', type: 'PRODUCTION', permission: 'EXECUTE', ...input } }, master);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
  };
  return {
    ok: await make({ rateLimits: [{ window: 'MINUTE', limit: 1000 }], scope: { kind: 'SINGLE_AGENT', agentId } }),
    unlimited: await make({ rateLimits: [] }),
    scope: (await make({ scope: { kind: 'SINGLE_AGENT', agentId: otherAgentId } })).secret,
    // One request a minute: the test spends it first, so the proxy's request is the second.
    slow: (await make({ rateLimits: [{ window: 'MINUTE', limit: 1 }] })).secret,
  };
}

async function startStack(): Promise<Stack> {
  const agentSeen: Seen[] = [];
  const h = await startHarness();
  const acct = await h.newAccount('examples');
  const agents = await h.gql(`mutation { a: createAgent(input: { name: "agent" }) { id } b: createAgent(input: { name: "other" }) { id } }`, {}, acct.secret);
  const agentId = agents.data.a.id as string;
  const keys = await makeKeys(h, acct.secret, agentId, agents.data.b.id);
  const spent = await h.verify({ key: keys.slow, agentId });
  if (spent.body.code !== 'VALID') throw new Error(`the slow key's one request was not allowed: ${JSON.stringify(spent.body)}`);
  const agent = http.createServer((req, res) => {
    agentSeen.push({ method: req.method!, url: req.url!, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end('{"agent":true}');
  });
  await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
  const ports = { keywarden: Number(new URL(h.url).port), agent: (agent.address() as AddressInfo).port, proxy: await freePort() };
  let stopped = false;
  const stopKeywarden = async () => {
    if (stopped) return;
    stopped = true;
    await h.close();
  };
  return {
    ports,
    h,
    accountId: acct.accountId,
    agentId,
    keys,
    agent: agentSeen,
    stopKeywarden,
    async close() {
      await stopKeywarden();
      agent.closeAllConnections();
      await new Promise((r) => agent.close(r));
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`proxy exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(!!s.end()));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`proxy did not listen on ${port}: ${log()}`);
}

async function ask(stack: Stack, key: string | null) {
  const res = await fetch(`http://127.0.0.1:${stack.ports.proxy}/v1/agents/${stack.agentId}/hello?x=1`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** What both proxies must do with Keywarden's forward-auth answers. */
async function expectForwardAuthBehaviour(stack: Stack) {
  const ok = await ask(stack, stack.keys.ok.secret);
  expect([ok.status, ok.body]).toEqual([200, '{"agent":true}']);
  const reached = stack.agent[stack.agent.length - 1];
  expect([reached.method, reached.url, reached.headers['x-keywarden-key-id'], reached.headers['x-keywarden-account-id'], reached.headers.authorization]).toEqual([
    'POST',
    `/v1/agents/${stack.agentId}/hello?x=1`,
    stack.keys.ok.id,
    stack.accountId,
    undefined,
  ]);
  // No identity or permission strings on these keys: the proxies add no empty headers.
  expect([reached.headers['x-keywarden-identity'], reached.headers['x-keywarden-permissions']]).toEqual([undefined, undefined]);
  expect([ok.headers.get('ratelimit-limit'), ok.headers.get('ratelimit-remaining')]).toEqual(['1000', '999']);
  const unlimited = await ask(stack, stack.keys.unlimited.secret);
  expect([unlimited.status, unlimited.headers.has('ratelimit-limit'), stack.agent[stack.agent.length - 1].headers['x-keywarden-key-id']]).toEqual([200, false, stack.keys.unlimited.id]);

  const agentCalls = stack.agent.length;
  const none = await ask(stack, null);
  expect([none.status, none.headers.get('www-authenticate'), none.headers.get('x-keywarden-code'), JSON.parse(none.body).error.code]).toEqual([401, 'Bearer', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  const unknown = await ask(stack, 'ak_prod_not_a_key');
  expect([unknown.status, unknown.headers.get('x-keywarden-code')]).toEqual([401, 'NOT_FOUND']);
  const scope = await ask(stack, stack.keys.scope);
  expect([scope.status, scope.headers.get('x-keywarden-code'), JSON.parse(scope.body).error.code]).toEqual([403, 'OUT_OF_SCOPE', 'OUT_OF_SCOPE']);
  const slow = await ask(stack, stack.keys.slow);
  expect([slow.status, slow.headers.get('x-keywarden-code'), JSON.parse(slow.body).error.code]).toEqual([429, 'RATE_LIMITED', 'RATE_LIMITED']);
  expect([Number(slow.headers.get('retry-after')) > 0, slow.headers.get('ratelimit-limit'), slow.headers.get('ratelimit-remaining')]).toEqual([true, '1', '0']);
  expect(stack.agent.length).toBe(agentCalls); // no denied request reached the agent
}

async function stopProcess(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

(NGINX ? describe : describe.skip)('nginx (auth_request)', () => {
  let dir: string;
  let stack: Stack;
  let proxy: ChildProcess | undefined;
  let log = '';
  beforeAll(async () => {
    dir = tmp();
    stack = await startStack();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), withPorts(read('nginx/nginx.conf'), stack.ports));
  });
  afterAll(async () => {
    await stopProcess(proxy);
    await stack.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('nginx -t accepts the configuration', async () => {
    const { stderr } = await run(NGINX!, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
    expect(stderr).toMatch(/test is successful/);
  });

  test('allowed requests reach the agent with the identity headers; 401, 403 and 429 (Retry-After) reach the client; Keywarden down answers 503', async () => {
    proxy = spawn(NGINX!, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.stderr!.on('data', (d) => (log += d));
    await waitForPort(stack.ports.proxy, proxy, () => log + (fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''));
    await expectForwardAuthBehaviour(stack);
    await stack.stopKeywarden();
    const agentCalls = stack.agent.length;
    const down = await ask(stack, stack.keys.ok.secret);
    expect([down.status, JSON.parse(down.body).error.code]).toEqual([503, 'KEYWARDEN_UNAVAILABLE']);
    expect(stack.agent.length).toBe(agentCalls);
  });
});

(CADDY ? describe : describe.skip)('Caddy (forward_auth)', () => {
  let dir: string;
  let stack: Stack;
  let proxy: ChildProcess | undefined;
  let log = '';
  const env = () => ({ ...process.env, HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') });
  beforeAll(async () => {
    dir = tmp();
    stack = await startStack();
    fs.writeFileSync(path.join(dir, 'Caddyfile'), withPorts(read('caddy/Caddyfile'), stack.ports));
  });
  afterAll(async () => {
    await stopProcess(proxy);
    await stack.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('caddy validate accepts the Caddyfile and caddy adapt wires forward_auth to /v1/auth/forward', async () => {
    const file = path.join(dir, 'Caddyfile');
    const validated = await run(CADDY!, ['validate', '--config', file, '--adapter', 'caddyfile'], { env: env() });
    expect(validated.stdout + validated.stderr).toMatch(/Valid configuration/);
    const adapted = JSON.parse((await run(CADDY!, ['adapt', '--config', file, '--adapter', 'caddyfile'], { env: env() })).stdout);
    const text = JSON.stringify(adapted);
    expect(text).toContain('"X-Forwarded-Method":["{http.request.method}"]');
    expect(text).toContain('"uri":"/v1/auth/forward"');
  });

  test('allowed requests reach the agent with the identity headers; 401, 403 and 429 (Retry-After) reach the client', async () => {
    proxy = spawn(CADDY!, ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { stdio: ['ignore', 'pipe', 'pipe'], env: env() });
    proxy.stderr!.on('data', (d) => (log += d));
    await waitForPort(stack.ports.proxy, proxy, () => log);
    await expectForwardAuthBehaviour(stack);
  });
});

describe('Traefik (ForwardAuth, file provider)', () => {
  test('the static configuration loads the dynamic file, whose router sends the agent through Keywarden', () => {
    const staticConfig = YAML.parse(read('traefik/traefik.yml'));
    expect(staticConfig.providers.file.filename).toBe('examples/traefik/dynamic.yml');
    const dynamic = YAML.parse(read('traefik/dynamic.yml'));
    const router = dynamic.http.routers.agent;
    expect(router.middlewares[0]).toBe('keywarden');
    expect(Object.keys(staticConfig.entryPoints)).toContain(router.entryPoints[0]);
    const auth = dynamic.http.middlewares.keywarden.forwardAuth;
    expect(new URL(auth.address).pathname).toBe('/v1/auth/forward');
    expect(auth.authResponseHeaders).toEqual(['X-Keywarden-Key-Id', 'X-Keywarden-Account-Id', 'X-Keywarden-Identity', 'X-Keywarden-Permissions']);
    expect(dynamic.http.middlewares[router.middlewares[1]].headers.customRequestHeaders).toEqual({ Authorization: '' });
    expect(dynamic.http.services[router.service].loadBalancer.servers[0].url).toMatch(/^http:\/\//);
  });
});

describe('Envoy (ext_authz over gRPC)', () => {
  test('the ext_authz filter runs before the router, over HTTP/2 to the EXT_AUTHZ_PORT cluster, failing closed', () => {
    const config = YAML.parse(read('envoy/envoy.yaml'));
    const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm.http_filters.map((f: { name: string }) => f.name)).toEqual(['envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    const authz = hcm.http_filters[0].typed_config;
    expect([authz['@type'], authz.transport_api_version, authz.failure_mode_allow]).toEqual(['type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', 'V3', false]);
    const cluster = config.static_resources.clusters.find((c: { name: string }) => c.name === authz.grpc_service.envoy_grpc.cluster_name);
    expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options).toEqual({});
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(9191);
    expect(cluster.health_checks[0].grpc_health_check).toEqual({});
  });
});
