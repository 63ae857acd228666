import type Redis from 'ioredis';
import type { Database } from '../infra/db';
import { logger } from '../infra/logger';
import { securityAlertKey } from '../infra/redis-keys';
import { recordSecurityEvent } from './security';

// Detectors that watch verification outcomes on the hot path. Counting is in process (no I/O per
// request); when a count crosses its threshold, one Redis SET NX per key and window decides which
// instance records the event, so a flood of bad requests yields one event per window, not
// thousands.
//
// - RATE_LIMIT_VIOLATION: a key denied by its rate limit, quota or bandwidth `threshold` times
//   within a window.
// - FAILED_AUTH_BURST: a known key failing verification (expired, revoked, IP, scope, window,
//   country, condition, permission) `threshold` times within a window.

export interface DetectorOptions {
  windowMs: number;
  rateLimitThreshold: number;
  failedAuthThreshold: number;
}

export const DEFAULT_DETECTORS: DetectorOptions = { windowMs: 60_000, rateLimitThreshold: 10, failedAuthThreshold: 10 };

const LIMIT_CODES = new Set(['RATE_LIMITED', 'QUOTA_EXCEEDED', 'BANDWIDTH_EXCEEDED']);

export class VerificationDetectors {
  private counts = new Map<string, number>();
  private window = 0;

  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: DetectorOptions = DEFAULT_DETECTORS,
  ) {}

  onDenied(key: { id: string; accountId: string }, code: string, ip: string | undefined, nowMs: number): void {
    if (code === 'VALID' || code === 'NOT_FOUND') return;
    const window = Math.floor(nowMs / this.opts.windowMs);
    if (window !== this.window) {
      this.window = window;
      this.counts = new Map();
    }
    const kind = LIMIT_CODES.has(code) ? 'RATE_LIMIT_VIOLATION' : 'FAILED_AUTH_BURST';
    const threshold = kind === 'RATE_LIMIT_VIOLATION' ? this.opts.rateLimitThreshold : this.opts.failedAuthThreshold;
    const tag = `${kind}|${key.id}`;
    const n = (this.counts.get(tag) ?? 0) + 1;
    this.counts.set(tag, n);
    if (n === threshold) void this.raise(kind, key, code, ip, window, n);
  }

  private async raise(kind: 'RATE_LIMIT_VIOLATION' | 'FAILED_AUTH_BURST', key: { id: string; accountId: string }, code: string, ip: string | undefined, window: number, count: number) {
    try {
      const first = await this.redis.set(securityAlertKey(this.prefix, key.id, kind, window), '1', 'PX', this.opts.windowMs * 2, 'NX');
      if (first !== 'OK') return;
      await this.db.prisma.$transaction((tx) =>
        recordSecurityEvent(tx, {
          accountId: key.accountId,
          kind,
          keyId: key.id,
          ip: ip ?? null,
          details: { lastCode: code, atLeast: count, windowSeconds: this.opts.windowMs / 1000 },
        }),
      );
    } catch (err) {
      logger.error({ err, kind, keyId: key.id }, 'could not record a security event');
    }
  }
}
