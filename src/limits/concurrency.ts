import crypto from 'node:crypto';
import { clock } from '../infra/clock';
import { RedisLimitsBase, reportError } from './failure';
import { concurrencySlotsKey } from '../infra/redis-keys';

// Concurrency slots for a key's maxConcurrent: a sorted set per API key whose members are the
// slots in use, scored by lease expiry. A slot is held for a lease rather than until release,
// so slots of an instance that crashed mid-request come back once their lease runs out
// (acquire drops expired members first). Long requests renew their lease.
//
// Lease times use this process's clock (infra/clock, which tests can move), as the Limiter
// does; instances need NTP-synced clocks, and skew shortens or stretches leases by the skew.

export interface SlotToken {
  keyId: string;
  /** Random member of the key's slot set. */
  slotId: string;
  leaseMs: number;
  /** Granted without Redis (open failure mode): release and renew do nothing. */
  degraded: boolean;
}

export class ConcurrencyLimiter extends RedisLimitsBase {
  /** A slot, or null when `max` are in use (or Redis failed in closed mode). One round trip. */
  async acquire(keyId: string, max: number, leaseMs: number, nowMs: number = clock.nowMs()): Promise<SlotToken | null> {
    const now = Math.floor(nowMs);
    const lease = Math.max(1, Math.floor(leaseMs));
    const slotId = crypto.randomBytes(12).toString('base64url');
    try {
      const [acquired] = await this.call('acquire', () => this.client.kwSlotAcquire(this.slotsKey(keyId), now, Math.floor(max), now + lease, slotId, lease));
      return Number(acquired) === 1 ? { keyId, slotId, leaseMs: lease, degraded: false } : null;
    } catch (err) {
      reportError(this.onError, err, 'acquire');
      return this.failureMode === 'open' ? { keyId, slotId, leaseMs: lease, degraded: true } : null;
    }
  }

  /** Frees the slot at once (one ZREM). Safe to call twice or after the lease ran out. */
  async release(token: SlotToken): Promise<void> {
    if (token.degraded) return;
    try {
      await this.call('release', () => this.client.zrem(this.slotsKey(token.keyId), token.slotId));
    } catch (err) {
      // The lease expires by itself; the slot is only held a little longer than needed.
      reportError(this.onError, err, 'release');
    }
  }

  /**
   * Extends the lease to `leaseMs` from now. False when it had already run out (the slot may
   * have gone to another request): the caller then holds no slot.
   */
  async renew(token: SlotToken, nowMs: number = clock.nowMs()): Promise<boolean> {
    if (token.degraded) return true;
    const now = Math.floor(nowMs);
    try {
      const held = await this.call('renew', () => this.client.kwSlotRenew(this.slotsKey(token.keyId), now, now + token.leaseMs, token.slotId, token.leaseMs));
      return Number(held) === 1;
    } catch (err) {
      reportError(this.onError, err, 'renew');
      // Keep the request going: its lease may still be valid, and it ends by itself if not.
      return true;
    }
  }

  private slotsKey(keyId: string): string {
    return concurrencySlotsKey(this.prefix, keyId);
  }
}
