import { withLimitsCommands, type LimitsClient, type LimitsCommands } from './scripts';

// Fixed-window counters, one per client and purpose: how many unknown keys an IP presented, how
// many leaked-key reports it sent. One script call per hit, shared by every instance.

export interface WindowHits {
  /** Hits in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends. */
  resetInMs: number;
}

export class FixedWindowCounter {
  private readonly client: LimitsClient & LimitsCommands;

  constructor(
    client: LimitsClient,
    private readonly windowMs: number,
  ) {
    this.client = withLimitsCommands(client);
  }

  /** Counts one hit on `key` (a name from infra/redis-keys). Rejects when Redis fails: the caller decides what that means. */
  async hit(key: string): Promise<WindowHits> {
    const [count, resetInMs] = await this.client.kwFixedWindowHit(key, this.windowMs);
    return { count: Number(count), resetInMs: Number(resetInMs) };
  }
}
