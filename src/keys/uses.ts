import { LRUCache } from 'lru-cache';
import type { Database } from '../infra/db';
import { recordSecurityEvent } from '../audit/security';
import { clock } from '../infra/clock';
import { logger } from '../infra/logger';
import { announceKeyChanges } from './events';
import type { ResolvedKey } from './resolve';
import { emitOnce } from '../events/outbox';

// What a successful use of a key sets in motion, off the hot path (a verification, a gateway
// request and an admin API request alike; one recorder per process, so repeats fold together): a ROTATING key's use is
// recorded (ROTATED_KEY_USED, with the caller's IP), an EMERGENCY key's use makes its rotation
// due at once and raises EMERGENCY_KEY_USED. Repeats for the same key and IP within a minute are
// folded into one event so a busy caller cannot flood the table.

const DEDUPE_MS = 60_000;

export class UseRecorder {
  private readonly recent = new LRUCache<string, true>({ max: 50_000, ttl: DEDUPE_MS });
  private pending = new Set<Promise<unknown>>();

  constructor(private readonly db: Database) {}

  onValid(key: ResolvedKey, ip: string | undefined): void {
    const self = key.chain[0];
    if (self.status === 'ROTATING') this.once(`rot:${key.id}:${ip}`, () => this.rotatedKeyUsed(key, ip));
    if (key.type === 'EMERGENCY') this.once(`emg:${key.id}:${ip}`, () => this.emergencyKeyUsed(key, ip));
  }

  /**
   * The verification that took a key's credits below 10% of its budget (exactly one per budget,
   * across instances: the limits script counts) sends key.credits_low; its dedupe key makes a
   * repeat a no-op.
   */
  onCreditsLow(key: ResolvedKey, remaining: number): void {
    const credits = key.credits;
    if (!credits) return;
    this.once(`low:${key.id}:${credits.epoch}`, () =>
      this.db.prisma.$transaction((tx) =>
        emitOnce(tx, [
          {
            accountId: key.accountId,
            type: 'key.credits_low',
            data: { keyId: key.id, remaining, budget: credits.budget, identityId: key.identity?.id ?? null },
            dedupeKey: `key.credits_low:${key.id}:${credits.epoch}`,
          },
        ]),
      ),
    );
  }

  private once(tag: string, work: () => Promise<unknown>): void {
    if (this.recent.has(tag)) return;
    this.recent.set(tag, true);
    const p = work()
      .catch((err) => logger.error({ err, tag }, 'could not record a key use'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private rotatedKeyUsed(key: ResolvedKey, ip: string | undefined) {
    const graceEndsAt = key.chain[0].graceEndsAt;
    return this.db.prisma.$transaction((tx) =>
      recordSecurityEvent(tx, {
        accountId: key.accountId,
        kind: 'ROTATED_KEY_USED',
        keyId: key.id,
        ip: ip ?? null,
        details: { graceEndsAt: graceEndsAt ? new Date(graceEndsAt).toISOString() : null },
      }),
    );
  }

  private async emergencyKeyUsed(key: ResolvedKey, ip: string | undefined) {
    const now = clock.now();
    await this.db.prisma.$transaction(async (tx) => {
      await tx.apiKey.updateMany({ where: { id: key.id, OR: [{ rotationDueAt: null }, { rotationDueAt: { gt: now } }] }, data: { rotationDueAt: now } });
      await recordSecurityEvent(tx, { accountId: key.accountId, kind: 'EMERGENCY_KEY_USED', keyId: key.id, ip: ip ?? null, details: {} });
    });
    announceKeyChanges([key.id]);
  }

  /** Waits for recordings in flight (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
