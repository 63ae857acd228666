import { isIP } from 'node:net';
import { isOutage, type VerifyOptions } from './client.js';
import { denial, denialFor, rateLimitHeaders, type Denial } from './denial.js';
import type { FailMode, VerifyRequest, VerifyResult } from './types.js';

// What every framework adapter does, without the framework: read the Bearer key, verify it
// against the route's target, and say whether to answer (with the gateway's denial) or go on
// (with the result and the RateLimit headers). The adapters only translate requests and replies.

/** What a route needs of a key: an agent or workflow, a permission level or query, a cost. */
export type Target = Omit<VerifyRequest, 'key' | 'ip'>;
/** A fixed target, or one worked out from the request (path parameters, method, ...). */
export type TargetOption<Req> = Target | ((req: Req) => Target | Promise<Target>);

/** Anything that verifies like KeywardenClient (a test double, a caching wrapper). */
export interface Verifier {
  verify(input: VerifyRequest, options?: VerifyOptions): Promise<VerifyResult>;
}

export interface GuardOptions<Req> {
  client: Verifier;
  /** Overrides the client's fail mode for these routes: `closed` answers 503 KEYWARDEN_UNAVAILABLE, `open` lets the request through unverified. */
  failMode?: FailMode;
  /** The end client's address sent to Keywarden (IP allowlists, countries); the default reads the framework's idea of it. */
  ip?: (req: Req) => string | undefined;
}

export type Decision = { allow: true; result: VerifyResult; headers: Record<string, string> } | { allow: false; result: VerifyResult | null; denial: Denial };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The key of `Authorization: Bearer <key>`, or null (missing, another scheme, malformed). */
export function bearerKey(header: string | string[] | undefined | null): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? BEARER.exec(value) : null;
  return m ? m[1] : null;
}

/**
 * The client address to send: IPv4 clients of a dual-stack socket (::ffff:a.b.c.d) as the plain
 * address; anything that is not an IP address (a header list, a name) is not sent at all.
 */
export function plainIp(ip: string | undefined | null): string | undefined {
  const value = ip?.trim();
  if (!value) return undefined;
  const plain = value.startsWith('::ffff:') && value.includes('.') ? value.slice(7) : value;
  return isIP(plain) ? plain : undefined;
}

export async function resolveTarget<Req>(target: TargetOption<Req> | undefined, req: Req): Promise<Target> {
  if (target === undefined) return {};
  return typeof target === 'function' ? await target(req) : target;
}

/** Verifies one request's key for a target; only errors that are neither denials nor outages escape. */
export async function decide(options: Pick<GuardOptions<unknown>, 'client' | 'failMode'>, key: string | null, target: Target, ip: string | undefined): Promise<Decision> {
  if (!key) return { allow: false, result: null, denial: denial('UNAUTHENTICATED') };
  let result: VerifyResult;
  try {
    const sent = plainIp(ip);
    result = await options.client.verify({ ...target, key, ...(sent ? { ip: sent } : {}) }, options.failMode ? { failMode: options.failMode } : {});
  } catch (err) {
    if (isOutage(err)) return { allow: false, result: null, denial: denial('KEYWARDEN_UNAVAILABLE') };
    throw err;
  }
  const refused = denialFor(result);
  if (refused) return { allow: false, result, denial: refused };
  return { allow: true, result, headers: rateLimitHeaders(result) };
}
