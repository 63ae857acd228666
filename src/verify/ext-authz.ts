import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import { clientIpFrom, HttpError, type TrustProxy } from '../infra/http';
import { logger } from '../infra/logger';
import { decideForward, FORWARD_OVERRIDES, type ForwardAnswer, type OriginalRequest } from './forward-decision';
import type { VerifyDeps } from './verify';

// Envoy's ext_authz over gRPC (EXT_AUTHZ_PORT): envoy.service.auth.v3.Authorization/Check, with
// the decision of forward auth (same stages, limits, codes; metrics via="ext_authz"), and
// grpc.health.v1 for Envoy's health checks. Envoy's own .proto files are read from the
// @grpc/grpc-js-xds package, which ships them (with their licence) under deps/.
//
// OK answers add X-Keywarden-* to the request (overwriting whatever the client sent) and
// RateLimit-* to the response; denials carry the gateway's status, headers and JSON body. The
// route's context extensions agentId, workflowId, permission, permissions act as the auth URL's
// query does for forward auth. A request without an http attribute fails INVALID_ARGUMENT; other
// bad input is denied with 400 and the error body (gRPC status INVALID_ARGUMENT); nothing counted.

const SERVICE = 'envoy.service.auth.v3.Authorization';

function loadAuthorizationService(): grpc.ServiceDefinition {
  const root = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const includeDirs = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => path.join(root, 'deps', d));
  const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs, keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  return definition[SERVICE] as grpc.ServiceDefinition;
}

interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Buffer;
}

interface CheckRequest {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } } };
    request?: { http?: { method?: string; path?: string; headers?: Record<string, string>; header_map?: { headers?: HeaderValue[] } } };
    context_extensions?: Record<string, string>;
  };
}

type Http = NonNullable<NonNullable<CheckRequest['attributes']>['request']>['http'];

/** Envoy sends lower-case names, as a map or (encode_raw_headers) as a list. */
function headersOf(http: NonNullable<Http>): Record<string, string> {
  if (http.headers && Object.keys(http.headers).length > 0) return http.headers;
  const out: Record<string, string> = {};
  for (const h of http.header_map?.headers ?? []) out[h.key.toLowerCase()] = h.value ?? h.raw_value?.toString('utf8') ?? '';
  return out;
}

function originalRequest(req: CheckRequest, trustProxy: TrustProxy): OriginalRequest {
  const http = req.attributes?.request?.http;
  if (!http) throw new HttpError(400, 'INVALID_ARGUMENT', 'attributes.request.http is required: the HTTP request to authorize');
  const headers: Record<string, string | undefined> = { ...headersOf(http) };
  const authorization = headers.authorization;
  delete headers.authorization;
  const extensions = req.attributes?.context_extensions ?? {};
  const overrides: OriginalRequest['overrides'] = {};
  for (const name of FORWARD_OVERRIDES) if (extensions[name] !== undefined) overrides[name] = extensions[name];
  const method = (http.method || headers[':method'] || 'GET').toUpperCase();
  const uri = http.path || headers[':path'] || '/';
  return { method, uri, authorization, ip: clientIpFrom(req.attributes?.source?.address?.socket_address?.address, (headers as Record<string, string>)['x-forwarded-for'], trustProxy), headers, overrides };
}

const headerOptions = (headers: Record<string, string>) => Object.entries(headers).map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));

/** google.rpc.Code of a denial's HTTP status. */
function rpcCode(status: number): number {
  if (status === 400) return grpc.status.INVALID_ARGUMENT;
  if (status === 401) return grpc.status.UNAUTHENTICATED;
  if (status === 429) return grpc.status.RESOURCE_EXHAUSTED;
  return grpc.status.PERMISSION_DENIED;
}

export function checkResponse(answer: ForwardAnswer) {
  if (answer.status === 200) {
    const rate: Record<string, string> = {};
    const upstream: Record<string, string> = {};
    for (const [k, v] of Object.entries(answer.headers)) (k.startsWith('ratelimit-') ? rate : upstream)[k] = v;
    return { status: { code: grpc.status.OK }, ok_response: { headers: headerOptions(upstream), response_headers_to_add: headerOptions(rate) } };
  }
  const body = JSON.stringify(answer.body);
  return {
    status: { code: rpcCode(answer.status), message: answer.body?.error.message ?? answer.code },
    denied_response: { status: { code: answer.status }, headers: headerOptions({ ...answer.headers, 'content-type': 'application/json; charset=utf-8' }), body },
  };
}

async function check(deps: VerifyDeps & { trustProxy: TrustProxy }, req: CheckRequest) {
  const original = originalRequest(req, deps.trustProxy);
  try {
    return checkResponse(await decideForward(deps, original, 'ext_authz'));
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 400) throw err;
    return checkResponse({ status: 400, code: err.code, headers: { 'x-keywarden-code': err.code }, body: { error: { code: err.code, message: err.message } } });
  }
}

export interface ExtAuthzServer {
  port: number;
  close(): Promise<void>;
}

/** Serves Check and grpc.health.v1 on host:port (0: any free port). */
export async function startExtAuthz(deps: VerifyDeps & { trustProxy: TrustProxy }, host: string, port: number): Promise<ExtAuthzServer> {
  const server = new grpc.Server();
  server.addService(loadAuthorizationService(), {
    Check(call: grpc.ServerUnaryCall<CheckRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      check(deps, call.request).then(
        (response) => callback(null, response),
        (err: Error) => {
          if (err instanceof HttpError) return callback({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
          logger.error({ err }, 'ext_authz check failed');
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        },
      );
    },
  });
  const health = new HealthImplementation({ '': 'SERVING', [SERVICE]: 'SERVING' });
  health.addToServer(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(SERVICE, 'NOT_SERVING');
        server.tryShutdown(() => resolve());
      }),
  };
}
