import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Permission } from '../generated/prisma/enums';
import type { TargetDirectory } from '../agents/targets';
import { literalUpstreamRefusal } from '../agents/upstream-policy';
import { clock } from '../infra/clock';
import { clientIp, socketIp, trustsProxies, type TrustProxy } from '../infra/http';
import { gatewayUpstream } from '../infra/metrics';
import type { ResolvedKey } from '../keys/resolve';
import type { ConcurrencyLimiter, Limiter } from '../limits';
import { rateLimitHeaders, sendGatewayError, statusForCode, type GatewayCode } from './gateway-answers';
import { decodeRouteId, normalizeGatewayPath } from './gateway-path';
import { countedBody, endToEndHeaders, proxyToUpstream } from './gateway-proxy';
import { readBody, retryAfterSeconds } from './http';
import { verifyKey, type VerifyDeps } from './verify';

// The gateway in front of agents and workflows, as named steps:
//   authorize     Bearer key -> verification with the method's permission
//   upstream      the agent's or workflow's upstreamUrl
//   acquire slot  a concurrency slot, when the key has maxConcurrent
//   build         the upstream request: end-to-end headers, the body (small ones read whole)
//   proxy         streamed to the upstream and back, request and response bytes counted
//   release       the slot and the byte count, once, on every path: finish, error, client
//                 abort, upstream timeout; a crashed instance's slots expire with their lease.

export interface GatewayRoute {
  kind: 'agent' | 'workflow';
  id: string;
  /** The path after the id, normalized (see gateway-path): what conditions see and the upstream receives. */
  rest: string;
}

const ROUTE = /^\/v1\/(agents|workflows)\/([^/?#]+)(\/[^?#]*)?$/;

/** The gateway route of a path, or null; throws HttpError 400 BAD_PATH for a path that cannot be normalized safely. */
export function matchGatewayRoute(path: string): GatewayRoute | null {
  const m = ROUTE.exec(path);
  if (!m) return null;
  return { kind: m[1] === 'agents' ? 'agent' : 'workflow', id: decodeRouteId(m[2]), rest: normalizeGatewayPath(m[3] ?? '/') };
}

const METHOD_PERMISSION: Record<string, Permission> = {
  GET: 'READ_ONLY',
  HEAD: 'READ_ONLY',
  OPTIONS: 'READ_ONLY',
  POST: 'EXECUTE',
  PUT: 'MANAGE',
  PATCH: 'MANAGE',
  DELETE: 'FULL_ACCESS',
};

/** The permission a request method needs (unknown methods: EXECUTE). */
export function permissionForMethod(method: string): Permission {
  return METHOD_PERMISSION[method] ?? 'EXECUTE';
}

export interface GatewayDeps extends VerifyDeps {
  trustProxy: TrustProxy;
  targets: Pick<TargetDirectory, 'accountOf' | 'upstreamOf'>;
  limiter: Pick<Limiter, 'check' | 'addBytes'>;
  slots: Pick<ConcurrencyLimiter, 'acquire' | 'release'>;
  upstreamTimeoutMs?: number;
  maxBodyBytes?: number;
  /**
   * Request bodies up to this size, by Content-Length, are read whole while the key is checked
   * and go upstream with the headers in one write, only once they are complete (default 64 KiB);
   * larger and chunked bodies stream.
   */
  bufferBodyBytes?: number;
}

interface Settings {
  timeoutMs: number;
  maxBody: number;
  bufferMax: number;
}

/** A request that passed verification, as the later steps need it. */
interface Authorized {
  key: ResolvedKey;
  ip: string | undefined;
  method: string;
  /** Content-Length as a number (0 without one; NaN when it is not a number). */
  declared: number;
  /** A valid Content-Length was sent. */
  hasDeclared: boolean;
  /** The whole body, being read, when it is small enough to arrive before a slot is taken. */
  small: Promise<Buffer> | null;
  limitHeaders: Record<string, string>;
}

export function createGateway(deps: GatewayDeps) {
  const settings: Settings = {
    timeoutMs: deps.upstreamTimeoutMs ?? 30_000,
    maxBody: deps.maxBodyBytes ?? 10 * 1024 * 1024,
    bufferMax: deps.bufferBodyBytes ?? 64 * 1024,
  };
  return async function handleGateway(route: GatewayRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pass = await authorize(deps, settings, route, req, res);
    if (!pass) return;
    const upstreamUrl = await findUpstream(deps, route, pass, req, res);
    if (!upstreamUrl) return;
    // A small body is complete before a concurrency slot is taken: a client that uploads slowly
    // or leaves halfway holds no slot, and sends the upstream nothing (the server's failure
    // handler sees it left).
    const smallBody = pass.small ? await pass.small : null;
    const release = await acquireSlot(deps, settings, pass, req, res);
    if (!release) return;
    const upstream = buildUpstreamRequest(deps, settings, route, req, pass, upstreamUrl, smallBody);
    proxyToUpstream(upstream.request, res, pass.limitHeaders, releaseWhenDone(deps, pass, release, upstream.streamedBytes));
  };
}

/** Answers a request the gateway does not pass on (its body is drained, not read). */
function refuse(req: IncomingMessage, res: ServerResponse, code: Exclude<GatewayCode, 'VALID'>, headers?: Record<string, string>): null {
  req.resume();
  sendGatewayError(res, code, headers);
  return null;
}

async function authorize(deps: GatewayDeps, settings: Settings, route: GatewayRoute, req: IncomingMessage, res: ServerResponse): Promise<Authorized | null> {
  const auth = req.headers.authorization;
  const bearer = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (!bearer) return refuse(req, res, 'UNAUTHENTICATED');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > settings.maxBody) return refuse(req, res, 'PAYLOAD_TOO_LARGE');
  const method = (req.method ?? 'GET').toUpperCase();
  const ip = clientIp(req, deps.trustProxy);
  const headers: Record<string, string | string[] | undefined> = { ...req.headers };
  delete headers.authorization;
  const hasDeclared = req.headers['content-length'] !== undefined && Number.isFinite(declared);
  const small = hasDeclared && declared > 0 && declared <= settings.bufferMax ? readBody(req, settings.bufferMax) : null;
  small?.catch(() => undefined); // a denied request never awaits it
  const outcome = await verifyKey(
    deps,
    {
      key: bearer[1],
      agentId: route.kind === 'agent' ? route.id : undefined,
      workflowId: route.kind === 'workflow' ? route.id : undefined,
      permission: permissionForMethod(method),
      ip,
      callerIp: ip,
      cost: 1,
      bytes: Number.isFinite(declared) ? declared : 0,
      method,
      path: route.rest,
      headers,
    },
    'gateway',
  );
  const limitHeaders = rateLimitHeaders(outcome);
  if (outcome.blockedForMs) return refuse(req, res, 'TOO_MANY_FAILED_ATTEMPTS', { 'retry-after': retryAfterSeconds(outcome.blockedForMs) });
  const code = outcome.result.code;
  if (code !== 'VALID' || !outcome.key) {
    const retry: Record<string, string> = statusForCode(code) === 429 ? { 'retry-after': retryAfterSeconds(outcome.retryAfterMs) } : {};
    return refuse(req, res, code === 'VALID' ? 'NOT_FOUND' : code, { ...limitHeaders, ...retry });
  }
  return { key: outcome.key, ip, method, declared, hasDeclared, small, limitHeaders };
}

async function findUpstream(deps: GatewayDeps, route: GatewayRoute, pass: Authorized, req: IncomingMessage, res: ServerResponse): Promise<string | null> {
  const target = await deps.targets.upstreamOf(route.kind, route.id);
  if (!target?.upstreamUrl) return refuse(req, res, 'NO_UPSTREAM', pass.limitHeaders);
  // An IP literal never reaches the connection's lookup: the address policy is checked here.
  if (literalUpstreamRefusal(parseUpstream(target.upstreamUrl).hostname)) return refuse(req, res, 'UPSTREAM_BLOCKED', pass.limitHeaders);
  return target.upstreamUrl;
}

/** A concurrency slot when the key has maxConcurrent, as the function that frees it; null when none is free (answered). */
async function acquireSlot(deps: GatewayDeps, settings: Settings, pass: Authorized, req: IncomingMessage, res: ServerResponse): Promise<(() => void) | null> {
  const max = pass.key.limits.maxConcurrent;
  if (max === null) return () => undefined;
  const slot = await deps.slots.acquire(pass.key.id, max, settings.timeoutMs + 5_000);
  if (!slot) return refuse(req, res, 'CONCURRENCY_EXCEEDED', { ...pass.limitHeaders, 'retry-after': '1' });
  return () => void deps.slots.release(slot);
}

interface UpstreamRequest {
  request: Dispatcher.DispatchOptions;
  /** Bytes of a chunked request body streamed so far (a declared length was counted when the key was checked). */
  streamedBytes: () => number;
}

function buildUpstreamRequest(deps: GatewayDeps, settings: Settings, route: GatewayRoute, req: IncomingMessage, pass: Authorized, upstreamUrl: string, smallBody: Buffer | null): UpstreamRequest {
  const upstream = parseUpstream(upstreamUrl);
  const headers = endToEndHeaders(req.headers, {});
  const prior = req.headers['x-forwarded-for'];
  // The chain as received when the proxies in front are trusted, plus the hop that reached us.
  const peer = socketIp(req) ?? '';
  headers['x-forwarded-for'] = prior && trustsProxies(deps.trustProxy) ? `${prior}, ${peer}` : (pass.ip ?? peer);
  headers['x-keywarden-key-id'] = pass.key.id;
  headers['x-keywarden-account-id'] = pass.key.accountId;
  const body = upstreamBody(req, pass, smallBody, headers, settings.maxBody);
  const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  return {
    request: { origin: upstream.origin, path: `${upstream.basePath}${route.rest}${query}`, method: pass.method, headers, body: body.body, headersTimeout: settings.timeoutMs, bodyTimeout: settings.timeoutMs },
    streamedBytes: body.streamedBytes,
  };
}

/**
 * A declared length is forwarded with the body itself: the upstream client fails a body that is
 * longer or shorter than declared, so the bytes counted are the declared ones. A chunked body is
 * counted, and cut off at maxBody, as it streams.
 */
function upstreamBody(req: IncomingMessage, pass: Authorized, smallBody: Buffer | null, headers: Record<string, string | string[]>, maxBody: number) {
  let streamed = 0;
  let body: Dispatcher.DispatchOptions['body'] = null;
  if (smallBody) {
    headers['content-length'] = String(pass.declared);
    body = smallBody;
  } else if (pass.hasDeclared) {
    headers['content-length'] = String(pass.declared);
    body = pass.declared > 0 ? req : null;
    if (pass.declared === 0) req.resume();
  } else if (req.headers['transfer-encoding']) {
    body = Readable.from(
      countedBody(req, maxBody, (n) => (streamed += n)),
      { objectMode: false },
    );
  } else req.resume();
  return { body, streamedBytes: () => streamed };
}

/** The release step: the slot is freed and the bytes learned while proxying are counted, once. */
function releaseWhenDone(deps: GatewayDeps, pass: Authorized, release: () => void, streamedBytes: () => number) {
  const startedAt = process.hrtime.bigint();
  return (statusClass: string, responseBytes: number): void => {
    gatewayUpstream.observe({ status: statusClass }, Number(process.hrtime.bigint() - startedAt) / 1e9);
    release();
    const bytes = responseBytes + streamedBytes();
    const bandwidth = pass.key.limits.bandwidth;
    if (bandwidth && bytes > 0) void deps.limiter.addBytes(pass.key.accountId, pass.key.id, bandwidth, bytes, clock.nowMs());
  };
}

/** An upstreamUrl split into what the upstream client needs, remembered per URL. */
const upstreams = new Map<string, { origin: string; hostname: string; basePath: string }>();
function parseUpstream(url: string): { origin: string; hostname: string; basePath: string } {
  let parsed = upstreams.get(url);
  if (!parsed) {
    const u = new URL(url);
    parsed = { origin: u.origin, hostname: u.hostname, basePath: u.pathname.replace(/\/$/, '') };
    if (upstreams.size >= 10_000) upstreams.clear();
    upstreams.set(url, parsed);
  }
  return parsed;
}
