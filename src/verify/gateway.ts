import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { Permission } from '../generated/prisma/enums';
import type { VerifyCode } from '../access/decide';
import { clock } from '../infra/clock';
import { logger } from '../infra/logger';
import { tightestRateLimit, type ConcurrencyLimiter, type SlotToken } from '../limits';
import { clientIp, readBody, retryAfterSeconds } from './http';
import { sendJson } from '../infra/http';
import { gatewayUpstream } from '../infra/metrics';
import { verifyKey, type VerifyDeps, type VerifyOutcome } from './verify';

// The gateway in front of agents and workflows: Bearer key -> verification with the method's
// permission -> a concurrency slot -> streamed proxy to the upstream, with request and response
// bytes counted against bandwidth. The slot is released on every path: finish, error, client
// abort, upstream timeout; a crashed instance's slots expire with their lease.

export interface GatewayRoute {
  kind: 'agent' | 'workflow';
  id: string;
  /** The path after the id, with its query string: what the upstream receives. */
  rest: string;
}

const ROUTE = /^\/v1\/(agents|workflows)\/([^/?#]+)(\/[^?#]*)?$/;

export function matchGatewayRoute(path: string): (Omit<GatewayRoute, 'rest'> & { rest: string }) | null {
  const m = ROUTE.exec(path);
  if (!m) return null;
  return { kind: m[1] === 'agents' ? 'agent' : 'workflow', id: decodeURIComponent(m[2]), rest: m[3] ?? '/' };
}

export const METHOD_PERMISSION: Record<string, Permission> = {
  GET: 'READ_ONLY',
  HEAD: 'READ_ONLY',
  OPTIONS: 'READ_ONLY',
  POST: 'EXECUTE',
  PUT: 'MANAGE',
  PATCH: 'MANAGE',
  DELETE: 'FULL_ACCESS',
};

/** HTTP status for a denial code (API.md §4). */
export function statusForCode(code: VerifyCode | 'CONCURRENCY_EXCEEDED' | 'TOO_MANY_FAILED_ATTEMPTS' | 'UNAUTHENTICATED' | 'PAYLOAD_TOO_LARGE'): number {
  switch (code) {
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNAUTHENTICATED':
    case 'NOT_FOUND':
    case 'EXPIRED':
    case 'REVOKED':
      return 401;
    case 'RATE_LIMITED':
    case 'QUOTA_EXCEEDED':
    case 'BANDWIDTH_EXCEEDED':
    case 'CONCURRENCY_EXCEEDED':
    case 'TOO_MANY_FAILED_ATTEMPTS':
      return 429;
    case 'VALID':
      return 200;
    default:
      return 403;
  }
}

const MESSAGES: Record<string, string> = {
  UNAUTHENTICATED: 'send the API key as "Authorization: Bearer <key>"',
  NOT_FOUND: 'unknown API key',
  EXPIRED: 'the API key has expired',
  REVOKED: 'the API key was revoked',
  INSUFFICIENT_PERMISSIONS: 'the API key lacks the permission this method needs',
  OUT_OF_SCOPE: 'the API key does not reach this agent or workflow',
  IP_NOT_ALLOWED: 'requests from this address are not allowed for this key',
  OUTSIDE_ACCESS_WINDOW: 'the API key may not be used at this time',
  COUNTRY_NOT_ALLOWED: 'requests from this country are not allowed for this key',
  CONDITION_FAILED: "the request does not meet the key's condition",
  RATE_LIMITED: 'rate limit exceeded',
  QUOTA_EXCEEDED: 'quota exceeded',
  BANDWIDTH_EXCEEDED: 'bandwidth exceeded',
  CONCURRENCY_EXCEEDED: 'too many simultaneous requests for this key',
  TOO_MANY_FAILED_ATTEMPTS: 'too many unknown keys from this address',
  NO_UPSTREAM: 'this agent or workflow has no upstreamUrl',
  UPSTREAM_UNAVAILABLE: 'the upstream could not be reached',
  UPSTREAM_TIMEOUT: 'the upstream did not answer in time',
  PAYLOAD_TOO_LARGE: 'request body too large',
};

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'content-length', 'expect']);

function rateLimitHeaders(outcome: VerifyOutcome | null): Record<string, string> {
  const tightest = outcome?.limits ? tightestRateLimit(outcome.limits.ratelimits) : null;
  if (!tightest) return {};
  return {
    'ratelimit-limit': String(tightest.limit),
    'ratelimit-remaining': String(tightest.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((tightest.reset - clock.nowMs()) / 1000))),
  };
}

function deny(res: ServerResponse, code: string, headers: Record<string, string> = {}): void {
  const status = statusForCode(code as Parameters<typeof statusForCode>[0]);
  const extra: Record<string, string> = { ...headers };
  if (status === 401) extra['www-authenticate'] = 'Bearer';
  sendJson(res, status, { error: { code, message: MESSAGES[code] ?? code } }, extra);
}

export interface GatewayDeps extends VerifyDeps {
  trustProxy: boolean;
  slots: ConcurrencyLimiter;
  upstreamTimeoutMs?: number;
  maxBodyBytes?: number;
  /**
   * Request bodies up to this size, by Content-Length, are read whole while the key is checked
   * and go upstream with the headers in one write, only once they are complete (default 64 KiB);
   * larger and chunked bodies stream.
   */
  bufferBodyBytes?: number;
}

export function createGateway(deps: GatewayDeps) {
  const timeoutMs = deps.upstreamTimeoutMs ?? 30_000;
  const maxBody = deps.maxBodyBytes ?? 10 * 1024 * 1024;
  const bufferMax = deps.bufferBodyBytes ?? 64 * 1024;

  return async function handleGateway(route: GatewayRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = req.headers.authorization;
    const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    if (!m) {
      req.resume();
      return deny(res, 'UNAUTHENTICATED');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      req.resume();
      return deny(res, 'PAYLOAD_TOO_LARGE');
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const ip = clientIp(req, deps.trustProxy);
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    delete headers.authorization;
    const hasDeclared = req.headers['content-length'] !== undefined && Number.isFinite(declared);
    const small = hasDeclared && declared > 0 && declared <= bufferMax ? readBody(req, bufferMax) : null;
    small?.catch(() => undefined); // a denied request never awaits it
    const outcome = await verifyKey(
      deps,
      {
        key: m[1],
        agentId: route.kind === 'agent' ? route.id : undefined,
        workflowId: route.kind === 'workflow' ? route.id : undefined,
        permission: METHOD_PERMISSION[method] ?? 'EXECUTE',
        ip,
        cost: 1,
        bytes: Number.isFinite(declared) ? declared : 0,
        method,
        path: route.rest,
        headers,
      },
      'gateway',
    );
    const limitHeaders = rateLimitHeaders(outcome);
    if (outcome.blockedForMs) {
      req.resume();
      return deny(res, 'TOO_MANY_FAILED_ATTEMPTS', { 'retry-after': retryAfterSeconds(outcome.blockedForMs) });
    }
    if (!outcome.result.valid || !outcome.key) {
      req.resume();
      const retry: Record<string, string> = statusForCode(outcome.result.code) === 429 ? { 'retry-after': retryAfterSeconds(outcome.retryAfterMs) } : {};
      return deny(res, outcome.result.code, { ...limitHeaders, ...retry });
    }
    const key = outcome.key;
    const target = await deps.targets.upstreamOf(route.kind, route.id);
    if (!target?.upstreamUrl) {
      req.resume();
      return sendJson(res, 502, { error: { code: 'NO_UPSTREAM', message: MESSAGES.NO_UPSTREAM } }, limitHeaders);
    }

    // A small body is complete before a concurrency slot is taken: a client that uploads slowly
    // or leaves halfway holds no slot, and sends the upstream nothing (the server's failure
    // handler sees it left).
    const smallBody = small ? await small : null;

    let slot: SlotToken | null = null;
    if (key.limits.maxConcurrent !== null) {
      slot = await deps.slots.acquire(key.id, key.limits.maxConcurrent, timeoutMs + 5_000);
      if (!slot) {
        req.resume();
        return deny(res, 'CONCURRENCY_EXCEEDED', { ...limitHeaders, 'retry-after': '1' });
      }
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (slot) void deps.slots.release(slot);
    };

    const upstream = parseUpstream(target.upstreamUrl);
    const forwarded: Record<string, string | string[]> = {};
    for (const name in req.headers) {
      const value = req.headers[name];
      if (value !== undefined && !HOP_BY_HOP.has(name)) forwarded[name] = value;
    }
    const prior = req.headers['x-forwarded-for'];
    forwarded['x-forwarded-for'] = prior && deps.trustProxy ? `${prior}, ${ip ?? ''}` : (ip ?? '');
    forwarded['x-keywarden-key-id'] = key.id;
    forwarded['x-keywarden-account-id'] = key.accountId;

    // A declared length is forwarded with the body itself: the upstream client fails a body that
    // is longer or shorter than declared, so the bytes counted are the declared ones. A chunked
    // body is counted, and cut off at maxBody, as it streams.
    let requestBytes = hasDeclared ? declared : 0;
    let responseBytes = 0;
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (smallBody) {
      forwarded['content-length'] = String(declared);
      body = smallBody;
    } else if (hasDeclared) {
      forwarded['content-length'] = String(declared);
      body = declared > 0 ? req : null;
      if (declared === 0) req.resume();
    } else if (req.headers['transfer-encoding']) {
      body = Readable.from(
        countedBody(req, maxBody, (n) => (requestBytes += n)),
        { objectMode: false },
      );
    } else req.resume();

    const startedAt = process.hrtime.bigint();
    let statusClass = 'error';
    const finish = () => {
      if (released) return;
      gatewayUpstream.observe({ status: statusClass }, Number(process.hrtime.bigint() - startedAt) / 1e9);
      release();
      const extra = responseBytes + Math.max(0, requestBytes - (Number.isFinite(declared) ? declared : 0));
      if (key.limits.bandwidth && deps.limiter && extra > 0) void deps.limiter.addBytes(key.id, key.limits.bandwidth, extra, clock.nowMs());
    };

    let controller: Dispatcher.DispatchController | null = null;
    let clientGone = false;
    // A client that goes away mid-request: stop the upstream call and free the slot.
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      controller?.abort(new Error('client closed the connection'));
      finish();
    });
    upstreamAgent.dispatch(
      { origin: upstream.origin, path: `${upstream.basePath}${route.rest}${query}`, method, headers: forwarded, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      {
        onRequestStart(c) {
          controller = c;
          if (clientGone) c.abort(new Error('client closed the connection'));
        },
        onResponseStart(_c, statusCode, headers) {
          if (statusCode < 200) return; // 1xx: informational, the real answer follows
          const outHeaders: Record<string, string | string[]> = { ...limitHeaders };
          for (const name in headers) {
            const value = headers[name];
            if (value !== undefined && !HOP_BY_HOP.has(name)) outHeaders[name] = value;
          }
          if (headers['content-length'] !== undefined) outHeaders['content-length'] = headers['content-length'];
          statusClass = `${String(statusCode)[0]}xx`;
          res.writeHead(statusCode, outHeaders);
        },
        onResponseData(c, chunk) {
          responseBytes += chunk.length;
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', () => c.resume());
          }
        },
        onResponseEnd() {
          finish();
          res.end();
        },
        onResponseError(_c, err) {
          finish();
          if (clientGone) return;
          if (res.headersSent) {
            logger.debug({ err: err.message }, 'gateway response stream ended early');
            res.destroy();
            return;
          }
          const code = upstreamErrorCode(err);
          const status = code === 'UPSTREAM_TIMEOUT' ? 504 : code === 'PAYLOAD_TOO_LARGE' ? 413 : 502;
          sendJson(res, status, { error: { code, message: MESSAGES[code] } }, limitHeaders);
        },
      },
    );
  };
}

// Upstream connections are kept alive and reused (a TCP handshake per request would cost more
// than everything else the gateway does); undici's client costs a fraction of node:http's per
// request, which is most of what the gateway adds to a call.
const upstreamAgent = new Agent({ connections: 512, keepAliveTimeout: 30_000 });

class PayloadTooLargeError extends Error {
  constructor() {
    super('PAYLOAD_TOO_LARGE');
  }
}

function upstreamErrorCode(err: Error): 'UPSTREAM_TIMEOUT' | 'PAYLOAD_TOO_LARGE' | 'UPSTREAM_UNAVAILABLE' {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'UPSTREAM_TIMEOUT';
  if (err instanceof PayloadTooLargeError || (err as { cause?: unknown }).cause instanceof PayloadTooLargeError) return 'PAYLOAD_TOO_LARGE';
  return 'UPSTREAM_UNAVAILABLE';
}

/** A chunked request body, counted as it streams and cut off once it passes `max` bytes. */
async function* countedBody(req: IncomingMessage, max: number, count: (n: number) => number): AsyncGenerator<Buffer> {
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (count(chunk.length) > max) throw new PayloadTooLargeError();
    yield chunk;
  }
}

/** An upstreamUrl split into what the upstream client needs, remembered per URL. */
const upstreams = new Map<string, { origin: string; basePath: string }>();
function parseUpstream(url: string): { origin: string; basePath: string } {
  let parsed = upstreams.get(url);
  if (!parsed) {
    const u = new URL(url);
    parsed = { origin: u.origin, basePath: u.pathname.replace(/\/$/, '') };
    if (upstreams.size >= 10_000) upstreams.clear();
    upstreams.set(url, parsed);
  }
  return parsed;
}
