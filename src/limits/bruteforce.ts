import { LRUCache } from 'lru-cache';
import { callerBucket } from '../infra/ip';
import { logger } from '../infra/logger';
import { failedAttemptsKey } from '../infra/redis-keys';
import { isRedisDown } from '../infra/redis';
import { FixedWindowCounter } from './fixed-window';
import type { LimitsClient } from './scripts';

// Brute-force protection: an IP that keeps presenting unknown keys is refused for a while.
// The IP is the address the request came from (the connection's, or the trusted proxies' view
// of it), never one the caller names; IPv6 callers count per /64.
// Failures are counted in Redis (shared by every instance, one command per failure); blocks are
// remembered in-process, so a request from a client in good standing costs no Redis command.
// Once the shared count is over the limit, each instance blocks the IP at its next failure there.
// Times come from the caller (the verify path's clock), as for every other limit.

export interface BruteForceOptions {
  maxFailures: number;
  windowMs: number;
  /** How long a blocked IP is refused. */
  blockMs: number;
}

export const DEFAULT_BRUTE_FORCE: BruteForceOptions = { maxFailures: 20, windowMs: 60_000, blockMs: 300_000 };

export class BruteForceGuard {
  private readonly blocked = new LRUCache<string, number>({ max: 100_000, ttlAutopurge: false });
  private readonly failures: FixedWindowCounter;

  constructor(
    private readonly redis: LimitsClient,
    private readonly prefix: string,
    private readonly opts: BruteForceOptions = DEFAULT_BRUTE_FORCE,
  ) {
    this.failures = new FixedWindowCounter(redis, opts.windowMs);
  }

  /** Milliseconds until the IP may try again, or 0. Local only: no I/O. */
  retryAfterMs(ip: string | undefined, nowMs: number): number {
    if (!ip) return 0;
    const caller = callerBucket(ip);
    const until = this.blocked.get(caller);
    if (until === undefined) return 0;
    if (until <= nowMs) {
      this.blocked.delete(caller);
      return 0;
    }
    return until - nowMs;
  }

  /** Counts an unknown-key attempt; blocks the IP once it reaches the limit within the window. */
  async recordFailure(ip: string | undefined, nowMs: number): Promise<void> {
    // Not counted while Redis is down (the outage is logged once, not per failure).
    if (!ip || isRedisDown(this.redis)) return;
    const caller = callerBucket(ip);
    try {
      const { count } = await this.failures.hit(failedAttemptsKey(this.prefix, caller));
      if (count >= this.opts.maxFailures) this.blocked.set(caller, nowMs + this.opts.blockMs);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not count a failed verification');
    }
  }
}
