import { reportError } from './failure';
import { rateView, type RateWindow } from './gcra';
import { allowedUnlimited, Limiter, type LimitRequest, type LimitResult, type RateLimitSpec, type WindowPlan, wholeNonNegative } from './limiter';

// RATE_LIMIT_MODE=leased: each instance takes blocks of a key's rate-limit capacity from Redis
// (the same GCRA state exact mode keeps, taken with one script call) and answers from the block
// while it lasts, so a hot key costs a Redis round trip per block instead of per request.
//
// The bound (README, "Rate-limit modes"): a block is used at most LEASE_MS after Redis granted it
// and each instance holds at most one block of a key at a time, never larger than
// maxBlock(N) = max(1, floor(N / 10)) for the key's tightest window N. So with K instances:
// - over any span, at most K x maxBlock(N) requests more than exact mode would admit (blocks
//   granted before the span and used inside it), and never more than ceil(N x LEASE_MS / W) more
//   (what GCRA grants in LEASE_MS);
// - a request may be denied early while at most (K - 1) x maxBlock(N) granted requests sit unused
//   in other instances' blocks, for at most LEASE_MS (unused blocks are given back when they lapse).
// Keys with a quota, bandwidth, credits or an identity keep the exact round trip (which also
// judges their windows), as do probes: those counters must stay exact (an identity's windows are
// shared by several keys, so they are never leased per key).

/** How long a granted block may be used. */
export const LEASE_MS = 1_000;
/** How often lapsed blocks are given back. */
const SWEEP_MS = 500;

/** The largest block a key with this tightest window limit may hold. */
export function maxBlock(limit: number): number {
  return Math.max(1, Math.floor(limit / 10));
}

/** Block size for a key seen at `ratePerSecond`: what it uses in one lease, within [need, maxBlock]. */
export function blockSize(ratePerSecond: number, need: number, limit: number): number {
  const wanted = Math.ceil((Number.isFinite(ratePerSecond) ? ratePerSecond : 0) * (LEASE_MS / 1000));
  return Math.max(need, Math.min(maxBlock(limit), Math.max(1, wanted)));
}

interface Lease {
  plan: WindowPlan;
  /** Requests granted and not yet used. */
  tokens: number;
  /** Caller's clock (ms): the block may not be used from then on. */
  expiresAt: number;
  grantedAt: number;
  usedSinceGrant: number;
  /** Requests per second this key was last seen at (one instance's view). */
  rate: number;
  /** TATs (µs) after the last grant, per window: what the rate-limit headers are worked out from. */
  tats: number[];
  granting?: Promise<number>;
}

export class LeasedLimiter extends Limiter {
  private readonly leases = new Map<string, Lease>();
  private sweeper?: NodeJS.Timeout;
  private lastNowMs = 0;

  async check(req: LimitRequest): Promise<LimitResult> {
    const cost = wholeNonNegative(req.cost ?? 1);
    if (req.quota || req.bandwidth || req.identity || req.credits || cost === 0) return super.check(req);
    const plan = this.planFor({ accountId: req.accountId, kind: 'key', id: req.keyId }, req.rateLimits);
    if (plan.windows.length === 0) return allowedUnlimited();
    const nowMs = Math.floor(req.nowMs);
    this.lastNowMs = Math.max(this.lastNowMs, nowMs);
    this.startSweeper();
    const lease = this.leaseFor(req.keyId, plan, nowMs);
    for (let round = 0; round < 2; round++) {
      if (lease.tokens >= cost && nowMs < lease.expiresAt) return this.spend(lease, cost, nowMs);
      try {
        const granted = await this.grant(lease, cost, nowMs);
        if (granted === 0 && lease.tokens < cost) return denied(lease, nowMs);
      } catch (err) {
        reportError(this.onError, err, 'lease');
        return this.degraded({ windows: [plan], counters: [] }, nowMs);
      }
    }
    return lease.tokens >= cost ? this.spend(lease, cost, nowMs) : denied(lease, nowMs);
  }

  /** Gives every unused block back (at shutdown, so other instances may use it at once). */
  override async release(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all([...this.leases.values()].map((l) => this.giveBack(l, this.lastNowMs)));
    this.leases.clear();
  }

  private leaseFor(keyId: string, plan: WindowPlan, nowMs: number): Lease {
    const known = this.leases.get(keyId);
    if (known && known.plan === plan) return known;
    // New limits (or a new key): what the old block still holds goes back.
    if (known) void this.giveBack(known, nowMs);
    const lease: Lease = { plan, tokens: 0, expiresAt: 0, grantedAt: nowMs, usedSinceGrant: 0, rate: 0, tats: plan.windows.map(() => 0) };
    this.leases.set(keyId, lease);
    return lease;
  }

  private spend(lease: Lease, cost: number, nowMs: number): LimitResult {
    lease.tokens -= cost;
    lease.usedSinceGrant += cost;
    return { allowed: true, code: 'VALID', ratelimits: views(lease, nowMs), quota: null, identityQuota: null, credits: null, bandwidth: null, retryAfterMs: 0, degraded: false };
  }

  /** One grant at a time per key: checks arriving meanwhile wait for it. Resolves to the requests granted. */
  private grant(lease: Lease, need: number, nowMs: number): Promise<number> {
    if (!lease.granting) {
      lease.granting = this.takeBlock(lease, need, nowMs).finally(() => {
        lease.granting = undefined;
      });
    }
    return lease.granting;
  }

  private async takeBlock(lease: Lease, need: number, nowMs: number): Promise<number> {
    const elapsed = Math.max(1, nowMs - lease.grantedAt);
    if (lease.usedSinceGrant > 0) lease.rate = (lease.usedSinceGrant * 1000) / elapsed;
    // A lapsed block is given back before a new one is taken.
    if (lease.tokens > 0 && nowMs >= lease.expiresAt) await this.giveBack(lease, nowMs);
    const size = blockSize(lease.rate, need, tightestLimit(lease.plan.windows));
    const { plan } = lease;
    const out = (await this.call('lease', () => this.client.kwLimitsLease(plan.hashKey, nowMs * 1000, size, plan.windowCount, ...plan.fields, ...plan.intervalArgs))).split(' ').map(Number);
    const granted = out[0];
    lease.tats = out.slice(1).map((fromNow) => nowMs * 1000 + fromNow);
    lease.tokens += granted;
    lease.expiresAt = nowMs + LEASE_MS;
    lease.grantedAt = nowMs;
    lease.usedSinceGrant = 0;
    return granted;
  }

  private async giveBack(lease: Lease, nowMs: number): Promise<void> {
    const unused = lease.tokens;
    lease.tokens = 0;
    if (unused <= 0) return;
    const { plan } = lease;
    const intervals = plan.intervalArgs.slice(0, plan.windows.length);
    try {
      await this.call('lease return', () => this.client.kwLimitsLeaseReturn(plan.hashKey, nowMs * 1000, unused, plan.windowCount, ...plan.fields, ...intervals));
    } catch (err) {
      // Not given back: the block's requests stay spent until their windows refill.
      reportError(this.onError, err, 'lease return');
    }
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Gives back lapsed blocks, and forgets keys not seen for a while. */
  private sweep(): void {
    const now = this.lastNowMs;
    for (const [keyId, lease] of this.leases) {
      if (lease.granting || now < lease.expiresAt) continue;
      if (lease.tokens > 0) void this.giveBack(lease, now);
      else if (now - lease.expiresAt > 60_000) this.leases.delete(keyId);
    }
  }
}

function tightestLimit(windows: RateLimitSpec[]): number {
  return Math.min(...windows.map((w) => w.limit));
}

/** Each window as a client sees it: what Redis has left plus what this block still holds. */
function views(lease: Lease, nowMs: number): LimitResult['ratelimits'] {
  return lease.plan.windows.map((w, i) => {
    const view = rateView(lease.tats[i] ?? 0, nowMs, w.window as RateWindow, w.limit);
    return { owner: 'KEY' as const, window: w.window, limit: w.limit, remaining: Math.min(w.limit, view.remaining + lease.tokens), reset: view.reset };
  });
}

function denied(lease: Lease, nowMs: number): LimitResult {
  const ratelimits = views(lease, nowMs);
  const retryAfterMs = Math.max(1, ...ratelimits.filter((r) => r.remaining === 0).map((r) => r.reset - nowMs));
  return { allowed: false, code: 'RATE_LIMITED', ratelimits, quota: null, identityQuota: null, credits: null, bandwidth: null, retryAfterMs, degraded: false };
}
