import type { ServerResponse } from 'node:http';
import type { VerifyCode } from '../access/decide';
import { clock } from '../infra/clock';
import { sendJson } from '../infra/http';
import { tightestRateLimit } from '../limits';
import type { VerifyOutcome } from './verify';

// What the gateway answers when it does not pass a request on, or the upstream fails it:
// {"error": {"code", "message"}} with the status each code maps to (README, "Verification
// and the gateway").

export type GatewayCode = VerifyCode | 'UNAUTHENTICATED' | 'PAYLOAD_TOO_LARGE' | 'TOO_MANY_FAILED_ATTEMPTS' | 'CONCURRENCY_EXCEEDED' | 'NO_UPSTREAM' | 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_BLOCKED' | 'UPSTREAM_TIMEOUT';

export function statusForCode(code: GatewayCode): number {
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
    case 'CREDITS_EXHAUSTED':
    case 'BANDWIDTH_EXCEEDED':
    case 'CONCURRENCY_EXCEEDED':
    case 'TOO_MANY_FAILED_ATTEMPTS':
      return 429;
    case 'NO_UPSTREAM':
    case 'UPSTREAM_UNAVAILABLE':
    case 'UPSTREAM_BLOCKED':
      return 502;
    case 'UPSTREAM_TIMEOUT':
      return 504;
    case 'VALID':
      return 200;
    default:
      return 403;
  }
}

const MESSAGES: Record<Exclude<GatewayCode, 'VALID'>, string> = {
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
  CREDITS_EXHAUSTED: "the API key's credits are used up",
  BANDWIDTH_EXCEEDED: 'bandwidth exceeded',
  CONCURRENCY_EXCEEDED: 'too many simultaneous requests for this key',
  TOO_MANY_FAILED_ATTEMPTS: 'too many unknown keys from this address',
  NO_UPSTREAM: 'this agent or workflow has no upstreamUrl',
  UPSTREAM_BLOCKED: "the upstream's address is not one the gateway may reach (loopback, private, link-local or metadata)",
  UPSTREAM_UNAVAILABLE: 'the upstream could not be reached',
  UPSTREAM_TIMEOUT: 'the upstream did not answer in time',
  PAYLOAD_TOO_LARGE: 'request body too large',
  FORWARD_AUTH_UNSUPPORTED: 'the API key has bandwidth or concurrency limits, which forward auth cannot keep (the proxy never reports the response); use the gateway',
};

export interface GatewayError {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

/** The status, headers and body of a denial (also what forward auth and ext_authz answer). */
export function gatewayError(code: Exclude<GatewayCode, 'VALID'>, headers: Record<string, string> = {}): GatewayError {
  const status = statusForCode(code);
  const extra: Record<string, string> = { ...headers };
  if (status === 401) extra['www-authenticate'] = 'Bearer';
  return { status, headers: extra, body: { error: { code, message: MESSAGES[code] } } };
}

export function sendGatewayError(res: ServerResponse, code: Exclude<GatewayCode, 'VALID'>, headers: Record<string, string> = {}): void {
  const e = gatewayError(code, headers);
  sendJson(res, e.status, e.body, e.headers);
}

/** RateLimit-* headers of the window the client should pace itself by, the key's or its identity's (none without rate limits). */
export function rateLimitHeaders(outcome: VerifyOutcome): Record<string, string> {
  const tightest = outcome.limits ? tightestRateLimit(outcome.limits.ratelimits) : null;
  if (!tightest) return {};
  return {
    'ratelimit-limit': String(tightest.limit),
    'ratelimit-remaining': String(tightest.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((tightest.reset - clock.nowMs()) / 1000))),
  };
}
