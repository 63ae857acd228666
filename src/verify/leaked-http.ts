import type { IncomingMessage, ServerResponse } from 'node:http';
import type Redis from 'ioredis';
import type { Database } from '../infra/db';
import { clientIp, sendJson, type TrustProxy } from '../infra/http';
import { callerBucket } from '../infra/ip';
import { logger } from '../infra/logger';
import { leakedReportsKey } from '../infra/redis-keys';
import { revokeLeakedKeys, type LeakReport } from '../keys/leaked';
import { FixedWindowCounter } from '../limits';
import { parseJsonObject, readBody, retryAfterSeconds } from './http';
import { LeakedRequestSchema, validateBody } from './schemas';

// POST /v1/keys/leaked { "keys": [secret...], "source"?, "url"? }, unauthenticated (README:
// leaked-key reports; the body's schema is in schemas.ts).
// The answer is 202 {"received": N} as soon as the body is valid, before any key is looked up:
// the response and its timing are the same whether a secret matched or not. The revocations run
// after the answer. Requests are limited per IP (IPv6 per /64) in Redis, shared by every instance.

const MAX_LEAKED_BODY = 64 * 1024;

export interface LeakedRateLimit {
  maxRequests: number;
  windowMs: number;
}

const DEFAULT_LEAKED_RATE_LIMIT: LeakedRateLimit = { maxRequests: 10, windowMs: 60_000 };

function parseLeakedBody(raw: Buffer): Omit<LeakReport, 'ip'> {
  const b = validateBody(LeakedRequestSchema, parseJsonObject(raw));
  return { secrets: b.keys, source: b.source?.trim() ?? null, url: b.url?.trim() ?? null };
}

export interface LeakedDeps {
  db: Database;
  redis: Redis;
  prefix: string;
  trustProxy: TrustProxy;
  rateLimit?: LeakedRateLimit;
}

export type LeakedHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createLeakedHandler(deps: LeakedDeps): LeakedHandler {
  const limit = deps.rateLimit ?? DEFAULT_LEAKED_RATE_LIMIT;
  const reports = new FixedWindowCounter(deps.redis, limit.windowMs);

  /** Milliseconds until the IP (IPv6: its /64, as the brute-force guard counts) may report again, or 0. Redis trouble lets reports through: revoking a leaked key matters more. */
  async function retryAfterMs(ip: string): Promise<number> {
    try {
      const { count, resetInMs } = await reports.hit(leakedReportsKey(deps.prefix, callerBucket(ip)));
      return count > limit.maxRequests ? Math.max(resetInMs, 1) : 0;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not count a leaked-key report; letting it through');
      return 0;
    }
  }

  return async (req, res) => {
    if (req.method !== 'POST') {
      req.resume();
      return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } }, { allow: 'POST' });
    }
    const ip = clientIp(req, deps.trustProxy) ?? null;
    const wait = await retryAfterMs(ip ?? 'unknown');
    if (wait > 0) {
      req.resume();
      return sendJson(res, 429, { error: { code: 'RATE_LIMITED', message: 'too many leaked-key reports from this address; try again later' } }, { 'retry-after': retryAfterSeconds(wait) });
    }
    const report: LeakReport = { ...parseLeakedBody(await readBody(req, MAX_LEAKED_BODY)), ip };
    sendJson(res, 202, { received: report.secrets.length });
    // After the answer has gone out: nothing of the lookup can change what the reporter sees.
    setImmediate(() => {
      revokeLeakedKeys(deps.db, report).then(
        (outcome) => outcome.matched > 0 && logger.warn({ matched: outcome.matched, revoked: outcome.revoked.length, source: report.source, ip }, 'leaked keys revoked'),
        (err) => logger.error({ err }, 'processing a leaked-key report failed'),
      );
    });
  };
}
