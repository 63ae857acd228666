import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { logger } from '../infra/logger';

// Brute-force protection: an IP that keeps presenting unknown keys is refused for a while.
// Failures are counted in Redis (shared by every instance, one command per failure); blocks are
// remembered in-process, so a request from a client in good standing costs no Redis command.
// Once the shared count is over the limit, each instance blocks the IP at its next failure there.

export interface BruteForceOptions {
  maxFailures: number;
  windowMs: number;
  /** How long a blocked IP is refused. */
  blockMs: number;
}

export const DEFAULT_BRUTE_FORCE: BruteForceOptions = { maxFailures: 20, windowMs: 60_000, blockMs: 300_000 };

const COUNT_FAILURE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then return -1 end
return n
`;

export class BruteForceGuard {
  private readonly blocked = new LRUCache<string, number>({ max: 100_000, ttlAutopurge: false });

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: BruteForceOptions = DEFAULT_BRUTE_FORCE,
  ) {}

  /** Milliseconds until the IP may try again, or 0. Local only: no I/O. */
  retryAfterMs(ip: string | undefined, nowMs = Date.now()): number {
    if (!ip) return 0;
    const until = this.blocked.get(ip);
    if (until === undefined) return 0;
    if (until <= nowMs) {
      this.blocked.delete(ip);
      return 0;
    }
    return until - nowMs;
  }

  /** Counts an unknown-key attempt; blocks the IP once it reaches the limit within the window. */
  async recordFailure(ip: string | undefined, nowMs = Date.now()): Promise<void> {
    if (!ip) return;
    try {
      const n = (await this.redis.eval(COUNT_FAILURE, 1, `${this.prefix}:bf:{${ip}}:fails`, this.opts.windowMs, this.opts.maxFailures)) as number;
      if (n === -1) this.blocked.set(ip, nowMs + this.opts.blockMs);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not count a failed verification');
    }
  }
}
