import type { IncomingMessage, ServerResponse } from 'node:http';
import type Redis from 'ioredis';
import type { Database } from '../infra/db';
import { clientIp, HttpError, sendJson, type TrustProxy } from '../infra/http';
import { logger } from '../infra/logger';
import { leakedReportsKey } from '../infra/redis-keys';
import { revokeLeakedKeys, type LeakReport } from '../keys/leaked';
import { FixedWindowCounter } from '../limits';
import { parseJsonObject, readBody, retryAfterSeconds } from './http';

// POST /v1/keys/leaked { "keys": [secret...], "source"?, "url"? }, unauthenticated (README: leaked-key reports).
// The answer is 202 {"received": N} as soon as the body is valid, before any key is looked up:
// the response and its timing are the same whether a secret matched or not. The revocations run
// after the answer. Requests are limited per IP in Redis, shared by every instance.

const MAX_LEAKED_BODY = 64 * 1024;
const MAX_LEAKED_KEYS = 100;
const MAX_SECRET_CHARS = 200;
const MAX_SOURCE_CHARS = 100;
const MAX_URL_CHARS = 2048;

export interface LeakedRateLimit {
  maxRequests: number;
  windowMs: number;
}

const DEFAULT_LEAKED_RATE_LIMIT: LeakedRateLimit = { maxRequests: 10, windowMs: 60_000 };

const bad = (message: string) => new HttpError(400, 'BAD_REQUEST', message);

function optionalText(b: Record<string, unknown>, field: 'source' | 'url', max: number): string | null {
  const v = b[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > max) throw bad(`${field}: must be a non-empty string of at most ${max} characters`);
  return v.trim();
}

function parseLeakedBody(raw: Buffer): Omit<LeakReport, 'ip'> {
  const b = parseJsonObject(raw);
  if (!Array.isArray(b.keys)) throw bad('keys: required, an array of secrets');
  if (b.keys.length === 0 || b.keys.length > MAX_LEAKED_KEYS) throw bad(`keys: must hold between 1 and ${MAX_LEAKED_KEYS} secrets`);
  b.keys.forEach((k, i) => {
    if (typeof k !== 'string' || k.length === 0 || k.length > MAX_SECRET_CHARS) throw bad(`keys[${i}]: must be a non-empty string of at most ${MAX_SECRET_CHARS} characters`);
  });
  const source = optionalText(b, 'source', MAX_SOURCE_CHARS);
  const url = optionalText(b, 'url', MAX_URL_CHARS);
  if (url !== null) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {}
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) throw bad('url: must be an http or https URL');
  }
  return { secrets: b.keys as string[], source, url };
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

  /** Milliseconds until the IP may report again, or 0. Redis trouble lets reports through: revoking a leaked key matters more. */
  async function retryAfterMs(ip: string): Promise<number> {
    try {
      const { count, resetInMs } = await reports.hit(leakedReportsKey(deps.prefix, ip));
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
