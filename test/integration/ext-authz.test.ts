import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { startExtAuthz, type ExtAuthzServer } from '../../src/verify/ext-authz';
import { startHarness, type Harness } from '../helpers/harness';

// Envoy's ext_authz over real gRPC: envoy.service.auth.v3.Authorization/Check answers with the
// forward-auth decision (OK with X-Keywarden-* for the upstream and RateLimit-* for the client;
// denials with the gateway's status, headers and JSON body), grpc.health.v1 reports SERVING, a
// request without an http attribute fails INVALID_ARGUMENT, and bad input counts nothing.

let h: Harness;
let server: ExtAuthzServer;
type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void;
let client: grpc.Client & { Check: Unary };
let health: grpc.Client & { Check: Unary };
let acct: { accountId: string; secret: string };
let agentId: string;
let otherAgentId: string;

beforeAll(async () => {
  h = await startHarness();
  server = await startExtAuthz(h.app.verification, '127.0.0.1', 0);
  // The client reads Envoy's protos from the same package as the server, as Envoy would send them.
  const root = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const includeDirs = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => path.join(root, 'deps', d));
  const def = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs, keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  client = new pkg.envoy.service.auth.v3.Authorization(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const Health = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');
  health = new Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as any;
  acct = await h.newAccount('extauthz');
  const r = await h.gql(`mutation { a: createAgent(input: { name: "a" }) { id } b: createAgent(input: { name: "b" }) { id } }`, {}, acct.secret);
  agentId = r.data.a.id;
  otherAgentId = r.data.b.id;
});
afterAll(async () => {
  client.close();
  health.close();
  await server.close();
  await h.close();
});

async function key(input: Record<string, unknown>) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'e', type: 'PRODUCTION', ...input } }, acct.secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}

const unary = (c: grpc.Client & { Check: Unary }, req: unknown) => new Promise<{ err: grpc.ServiceError | null; res: any }>((resolve) => c.Check(req, (err, res) => resolve({ err, res })));

function checkRequest(secret: string | null, method: string, p: string, extra: { headers?: Record<string, string>; context_extensions?: Record<string, string> } = {}) {
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.1.2.3', port_value: 55555 } } },
      request: { http: { method, path: p, host: 'agent.test', headers: { ':method': method, ':path': p, ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...extra.headers } } },
      context_extensions: extra.context_extensions ?? {},
    },
  };
}

const headerMap = (options: { header: { key: string; value: string } }[] = []) => Object.fromEntries(options.map((o) => [o.header.key, o.header.value]));

test('grpc.health.v1 reports the server and the Authorization service SERVING', async () => {
  for (const service of ['', 'envoy.service.auth.v3.Authorization']) {
    const { err, res } = await unary(health, { service });
    expect([err, res.status]).toEqual([null, 'SERVING']);
  }
});

test('OK: X-Keywarden-* for the upstream (overwriting), RateLimit-* for the client; the client address is the source peer', async () => {
  const k = await key({ permission: 'EXECUTE', rateLimits: [{ window: 'MINUTE', limit: 20 }], ipAllowlist: ['10.0.0.0/8'] });
  const { err, res } = await unary(client, checkRequest(k.secret, 'POST', `/v1/agents/${agentId}/run?x=1`, { headers: { 'x-keywarden-key-id': 'spoofed' } }));
  expect(err).toBeNull();
  expect([res.status.code, res.http_response]).toEqual([0, 'ok_response']);
  const up = res.ok_response.headers;
  expect(headerMap(up)).toEqual({ 'x-keywarden-key-id': k.id, 'x-keywarden-account-id': acct.accountId });
  expect(up.map((o: { append_action: string }) => o.append_action)).toEqual(['OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS_OR_ADD']);
  expect(headerMap(res.ok_response.response_headers_to_add)).toMatchObject({ 'ratelimit-limit': '20', 'ratelimit-remaining': '19' });
  // The route's context extensions pin the agent and permission, as the auth URL's query does.
  const pinned = await unary(client, checkRequest(k.secret, 'DELETE', '/plain/path', { context_extensions: { agentId, permission: 'EXECUTE' } }));
  expect(pinned.res.status.code).toBe(0);
});

test('denials carry the gateway status, headers and JSON body', async () => {
  const none = await unary(client, checkRequest(null, 'GET', `/v1/agents/${agentId}/x`));
  expect([none.res.status.code, none.res.denied_response.status.code, JSON.parse(none.res.denied_response.body).error.code]).toEqual([grpc.status.UNAUTHENTICATED, 'Unauthorized', 'UNAUTHENTICATED']);
  expect(headerMap(none.res.denied_response.headers)).toMatchObject({ 'www-authenticate': 'Bearer', 'x-keywarden-code': 'UNAUTHENTICATED', 'content-type': 'application/json; charset=utf-8' });
  const scoped = await key({ scope: { kind: 'SINGLE_AGENT', agentId: otherAgentId } });
  const scope = await unary(client, checkRequest(scoped.secret, 'GET', `/v1/agents/${agentId}/x`));
  expect([scope.res.status.code, scope.res.denied_response.status.code, headerMap(scope.res.denied_response.headers)['x-keywarden-code']]).toEqual([grpc.status.PERMISSION_DENIED, 'Forbidden', 'OUT_OF_SCOPE']);
  const outside = await key({ ipAllowlist: ['192.168.0.0/16'] });
  const ip = await unary(client, checkRequest(outside.secret, 'GET', `/v1/agents/${agentId}/x`));
  expect(JSON.parse(ip.res.denied_response.body).error.code).toBe('IP_NOT_ALLOWED');
  const slow = await key({ rateLimits: [{ window: 'MINUTE', limit: 1 }] });
  expect((await unary(client, checkRequest(slow.secret, 'GET', `/v1/agents/${agentId}/x`))).res.status.code).toBe(0);
  const limited = await unary(client, checkRequest(slow.secret, 'GET', `/v1/agents/${agentId}/x`));
  const headers = headerMap(limited.res.denied_response.headers);
  expect([limited.res.status.code, limited.res.denied_response.status.code, headers['x-keywarden-code'], Number(headers['retry-after']) > 0]).toEqual([
    grpc.status.RESOURCE_EXHAUSTED,
    'TooManyRequests',
    'RATE_LIMITED',
    true,
  ]);
  const conc = await key({ maxConcurrent: 1 });
  const unsupported = await unary(client, checkRequest(conc.secret, 'GET', `/v1/agents/${agentId}/x`));
  expect(JSON.parse(unsupported.res.denied_response.body).error.code).toBe('FORWARD_AUTH_UNSUPPORTED');
});

test('no http attribute: INVALID_ARGUMENT; a request naming no agent: denied 400; nothing counted', async () => {
  const k = await key({ rateLimits: [{ window: 'MINUTE', limit: 1 }] });
  const bare = await unary(client, { attributes: { source: {} } });
  expect([bare.err?.code, bare.err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'attributes.request.http is required: the HTTP request to authorize']);
  const empty = await unary(client, {});
  expect(empty.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  const noAgent = await unary(client, checkRequest(k.secret, 'GET', '/favicon.ico'));
  expect([noAgent.res.status.code, noAgent.res.denied_response.status.code, JSON.parse(noAgent.res.denied_response.body).error.message]).toEqual([
    grpc.status.INVALID_ARGUMENT,
    'BadRequest',
    expect.stringMatching(/names no agent or workflow/),
  ]);
  const badPermission = await unary(client, checkRequest(k.secret, 'GET', `/v1/agents/${agentId}/x`, { context_extensions: { permission: 'ROOT' } }));
  expect(JSON.parse(badPermission.res.denied_response.body).error.message).toMatch(/^permission: must be one of/);
  // The one request a minute is still there.
  expect((await unary(client, checkRequest(k.secret, 'GET', `/v1/agents/${agentId}/x`))).res.status.code).toBe(0);
  expect((await unary(client, checkRequest(k.secret, 'GET', `/v1/agents/${agentId}/x`))).res.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  const text = await (await fetch(`${h.url}/metrics`)).text();
  expect(text).toMatch(/keywarden_verify_decisions_total\{code="VALID",via="ext_authz"\} [1-9]/);
});
