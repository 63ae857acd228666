import type { Permission } from '../generated/prisma/enums';
import { HttpError } from '../infra/http';
import { gatewayError, rateLimitHeaders, statusForCode, type GatewayError } from './gateway-answers';
import { matchGatewayRoute, permissionForMethod } from './gateway';
import { cachedPermissionQuery, retryAfterSeconds } from './http';
import type { PermissionQuery } from '../access/permission-query';
import { ForwardOverridesSchema, validateBody } from './schemas';
import { verifyKey, type VerifyDeps, type VerifyOutcome } from './verify';

// The decision a proxy asks for (forward auth over HTTP, Envoy's ext_authz over gRPC): the
// original request's method and URI, its Bearer key and client address, and the target
// overrides (the auth URL's query, or Envoy's context extensions) -> allowed with the
// X-Keywarden-* headers, or the gateway's denial plus X-Keywarden-Code. The verification itself
// is verifyKey's stages, with the response marked unseen (bandwidth and concurrency cannot be
// kept). Bad input throws a 400 HttpError before anything is verified or counted.

export type ForwardOverride = 'agentId' | 'workflowId' | 'permission' | 'permissions';
export const FORWARD_OVERRIDES: readonly ForwardOverride[] = ['agentId', 'workflowId', 'permission', 'permissions'];

export interface OriginalRequest {
  /** The original request's method (upper case). */
  method: string;
  /** The original request's path with its query string. */
  uri: string;
  authorization: string | undefined;
  /** The end client's address, as far as it is trusted. */
  ip: string | undefined;
  /** The original request's headers, without Authorization (what conditions see). */
  headers: Record<string, string | string[] | undefined>;
  overrides: Partial<Record<ForwardOverride, string>>;
}

export interface ForwardAnswer {
  /** 200 when allowed, else the gateway's status for the code. */
  status: number;
  code: string;
  headers: Record<string, string>;
  /** null when allowed (an empty body). */
  body: GatewayError['body'] | null;
}

interface Target {
  agentId?: string;
  workflowId?: string;
  permission: Permission;
  /** The auth URL's permissions query, parsed once per distinct string (as verify's). */
  permissionQuery?: PermissionQuery;
  path: string;
}

const bad = (message: string) => new HttpError(400, 'BAD_REQUEST', message);

/** The agent or workflow and the permission: the overrides first, then the original path and method. */
export function forwardTarget(method: string, uri: string, overrides: OriginalRequest['overrides']): Target {
  const path = uri.split('?', 1)[0];
  let route: ReturnType<typeof matchGatewayRoute>;
  try {
    route = matchGatewayRoute(path);
  } catch {
    throw bad(`the original URI is not a valid URI path (bad percent-encoding): ${path.slice(0, 200)}`);
  }
  const given = FORWARD_OVERRIDES.filter((n) => overrides[n] !== undefined);
  if (!route && given.length === 0) {
    throw bad(
      `the original URI (${path.slice(0, 200)}) names no agent or workflow (/v1/agents/<agentId>/..., /v1/workflows/<workflowId>/...) and the auth URL has none of the query parameters ${FORWARD_OVERRIDES.join(', ')}`,
    );
  }
  const permissionQuery = overrides.permissions !== undefined ? cachedPermissionQuery(overrides.permissions) : undefined;
  const o = validateBody(ForwardOverridesSchema, overrides);
  const permission = o.permission ?? permissionForMethod(method);
  const agentId = o.agentId ?? undefined;
  const workflowId = o.workflowId ?? undefined;
  if (agentId || workflowId) return { agentId, workflowId, permission, permissionQuery, path: route?.rest ?? path };
  if (!route) return { permission, permissionQuery, path };
  return { agentId: route.kind === 'agent' ? route.id : undefined, workflowId: route.kind === 'workflow' ? route.id : undefined, permission, permissionQuery, path: route.rest };
}

/** Throws 400 on bad input (nothing verified, nothing counted); otherwise the proxy's answer. */
export async function decideForward(deps: VerifyDeps, original: OriginalRequest, via: 'forward' | 'ext_authz'): Promise<ForwardAnswer> {
  const target = forwardTarget(original.method, original.uri, original.overrides);
  const bearer = original.authorization ? /^Bearer\s+(\S+)\s*$/i.exec(original.authorization) : null;
  if (!bearer) return denial(gatewayError('UNAUTHENTICATED'), 'UNAUTHENTICATED');
  const outcome = await verifyKey(
    deps,
    {
      key: bearer[1],
      agentId: target.agentId,
      workflowId: target.workflowId,
      permission: target.permission,
      permissionQuery: target.permissionQuery,
      ip: original.ip,
      // The proxy's view of the client, as TRUST_PROXY allows: what the brute-force guard counts.
      callerIp: original.ip,
      cost: 1,
      bytes: 0,
      method: original.method,
      path: target.path,
      headers: original.headers,
      responseUnseen: true,
    },
    via,
  );
  if (outcome.blockedForMs) return denial(gatewayError('TOO_MANY_FAILED_ATTEMPTS', { 'retry-after': retryAfterSeconds(outcome.blockedForMs) }), 'TOO_MANY_FAILED_ATTEMPTS');
  const limitHeaders = rateLimitHeaders(outcome);
  const code = outcome.result.code;
  if (code === 'VALID') return { status: 200, code, headers: { ...allowedHeaders(outcome), ...limitHeaders }, body: null };
  const retry: Record<string, string> = statusForCode(code) === 429 ? { 'retry-after': retryAfterSeconds(outcome.retryAfterMs) } : {};
  return denial(gatewayError(code, { ...limitHeaders, ...retry }), code);
}

function denial(e: GatewayError, code: string): ForwardAnswer {
  return { status: e.status, code, headers: { ...e.headers, 'x-keywarden-code': code }, body: e.body };
}

/** The result fields identities and permission strings add, when this version has them. */
interface IdentityFields {
  identity?: { externalId?: string | null } | null;
  permissions?: readonly string[];
}

function allowedHeaders(outcome: VerifyOutcome): Record<string, string> {
  const r = outcome.result as VerifyOutcome['result'] & IdentityFields;
  const headers: Record<string, string> = { 'x-keywarden-key-id': r.keyId ?? '', 'x-keywarden-account-id': r.accountId ?? '' };
  if (r.identity?.externalId) headers['x-keywarden-identity'] = r.identity.externalId;
  if (r.permissions && r.permissions.length > 0) headers['x-keywarden-permissions'] = r.permissions.join(',');
  return headers;
}
