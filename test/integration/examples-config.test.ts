import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';

// The proxy configurations in examples/: nginx (auth_request), Caddy (forward_auth), Traefik
// (ForwardAuth) and Envoy (ext_authz). nginx and Caddy check their own configs and then run them
// in front of a local agent, asking a stand-in that answers exactly as API.md §9 says
// /v1/auth/forward answers (200 with X-Keywarden-*, 401/403/429 with X-Keywarden-Code): the
// recipes, above all nginx's 429 one, are proven before Keywarden's own endpoint exists.
// Traefik and Envoy are not Debian packages: their YAML is parsed and its wiring checked.
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

/** Answers as API.md §9 says /v1/auth/forward does, by key: kw-ok, kw-unlimited (no rate limits, no identity), kw-scope, kw-slow, anything else unknown. */
function standIn(seen: Seen[]): http.Server {
  return http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const key = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const deny = (status: number, code: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-keywarden-code': code, ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}), ...extra });
      res.end(JSON.stringify({ error: { code, message: `denied: ${code}` } }));
    };
    if (!key) return deny(401, 'UNAUTHENTICATED');
    if (key === 'kw-ok') {
      res.writeHead(200, {
        'x-keywarden-key-id': 'key_1',
        'x-keywarden-account-id': 'acc_1',
        'x-keywarden-identity': 'cust-1',
        'x-keywarden-permissions': 'agents.execute',
        'ratelimit-limit': '10',
        'ratelimit-remaining': '9',
        'ratelimit-reset': '60',
      });
      return res.end();
    }
    if (key === 'kw-unlimited') {
      res.writeHead(200, { 'x-keywarden-key-id': 'key_2', 'x-keywarden-account-id': 'acc_1' });
      return res.end();
    }
    if (key === 'kw-scope') return deny(403, 'OUT_OF_SCOPE');
    if (key === 'kw-slow') return deny(429, 'RATE_LIMITED', { 'retry-after': '17', 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '17' });
    return deny(401, 'NOT_FOUND');
  });
}

interface Stack {
  ports: { keywarden: number; agent: number; proxy: number };
  auth: Seen[];
  agent: Seen[];
  stopAuth(): Promise<void>;
  close(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const auth: Seen[] = [];
  const agentSeen: Seen[] = [];
  const authServer = standIn(auth);
  const agent = http.createServer((req, res) => {
    agentSeen.push({ method: req.method!, url: req.url!, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end('{"agent":true}');
  });
  await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
  const ports = { keywarden: (authServer.address() as AddressInfo).port, agent: (agent.address() as AddressInfo).port, proxy: await freePort() };
  const stopAuth = async () => {
    authServer.closeAllConnections();
    await new Promise((r) => authServer.close(r));
  };
  return {
    ports,
    auth,
    agent: agentSeen,
    stopAuth,
    async close() {
      if (authServer.listening) await stopAuth();
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

async function ask(port: number, key: string | null) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/agents/agt_1/hello?x=1`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** What both proxies must do with the §9 answers. */
async function expectForwardAuthBehaviour(stack: Stack, originalHeaders: { method: string; uri: string }) {
  const ok = await ask(stack.ports.proxy, 'kw-ok');
  expect([ok.status, ok.body]).toEqual([200, '{"agent":true}']);
  const asked = stack.auth[stack.auth.length - 1];
  expect([asked.url.split('?')[0], asked.headers[originalHeaders.method], asked.headers[originalHeaders.uri], asked.headers.authorization]).toEqual([
    '/v1/auth/forward',
    'POST',
    '/v1/agents/agt_1/hello?x=1',
    'Bearer kw-ok',
  ]);
  const reached = stack.agent[stack.agent.length - 1];
  expect([
    reached.url,
    reached.headers['x-keywarden-key-id'],
    reached.headers['x-keywarden-account-id'],
    reached.headers['x-keywarden-identity'],
    reached.headers['x-keywarden-permissions'],
    reached.headers.authorization,
  ]).toEqual(['/v1/agents/agt_1/hello?x=1', 'key_1', 'acc_1', 'cust-1', 'agents.execute', undefined]);
  expect([ok.headers.get('ratelimit-limit'), ok.headers.get('ratelimit-remaining'), ok.headers.get('ratelimit-reset')]).toEqual(['10', '9', '60']);
  const unlimited = await ask(stack.ports.proxy, 'kw-unlimited');
  expect([unlimited.status, unlimited.headers.has('ratelimit-limit'), stack.agent[stack.agent.length - 1].headers['x-keywarden-identity']]).toEqual([200, false, undefined]);

  const agentCalls = stack.agent.length;
  const none = await ask(stack.ports.proxy, null);
  expect([none.status, none.headers.get('www-authenticate'), none.headers.get('x-keywarden-code'), JSON.parse(none.body).error.code]).toEqual([401, 'Bearer', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  const unknown = await ask(stack.ports.proxy, 'kw-nope');
  expect([unknown.status, unknown.headers.get('x-keywarden-code')]).toEqual([401, 'NOT_FOUND']);
  const scope = await ask(stack.ports.proxy, 'kw-scope');
  expect([scope.status, scope.headers.get('x-keywarden-code'), JSON.parse(scope.body).error.code]).toEqual([403, 'OUT_OF_SCOPE', 'OUT_OF_SCOPE']);
  const slow = await ask(stack.ports.proxy, 'kw-slow');
  expect([slow.status, slow.headers.get('retry-after'), slow.headers.get('x-keywarden-code'), JSON.parse(slow.body).error.code]).toEqual([429, '17', 'RATE_LIMITED', 'RATE_LIMITED']);
  expect([slow.headers.get('ratelimit-limit'), slow.headers.get('ratelimit-remaining')]).toEqual(['10', '0']);
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
    await expectForwardAuthBehaviour(stack, { method: 'x-original-method', uri: 'x-original-uri' });
    await stack.stopAuth();
    const agentCalls = stack.agent.length;
    const down = await ask(stack.ports.proxy, 'kw-ok');
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
    await expectForwardAuthBehaviour(stack, { method: 'x-forwarded-method', uri: 'x-forwarded-uri' });
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
