import { RedisLimitsBase, reportError } from './failure';
import { emissionIntervalUs, rateView, WINDOW_MS, type RateWindow } from './gcra';
import { periodBounds, type Period } from './periods';
import { creditsSpentKey, limitsHashKey, periodCounterKey, type LimitOwner } from '../infra/redis-keys';
import { corkUntilNextTurn } from './scripts';

// Rate windows, quota, credits and bandwidth of one API key, and the rate windows and quota of its
// identity (shared by all of the identity's keys), judged and consumed in one Redis script.
//
// Time comes from the caller (req.nowMs), not from Redis TIME: tests move time without
// sleeping, and the verify path already holds "now" for its other checks (expiry, access
// windows), so every check of one request sees the same instant. The trade-off: instances must
// keep their clocks in sync (NTP); an instance whose clock runs ahead spends window allowance
// early, one running behind sees windows refill late. Skew shifts limits by the skew, no more.

import type { LimitCode, LimitOwnerKind, RateLimitSpec, QuotaSpec, BandwidthSpec, IdentityLimits, CreditsSpec, LimitRequest, RateLimitState, CounterState, CreditsState, LimitResult } from './types';

export type { LimitCode, LimitOwnerKind, RateLimitSpec, QuotaSpec, BandwidthSpec, IdentityLimits, CreditsSpec, LimitRequest, RateLimitState, CounterState, CreditsState, LimitResult };

/** A counter key outlives its period a little, so an instance whose clock lags still finds it. */
const PERIOD_GRACE_MS = 60_000;
/** What a closed-mode denial tells the client to wait. */
const DEGRADED_RETRY_MS = 1_000;

/** The rate windows of one owner (key or identity), its limits hash and script arguments, worked out once. */
export interface WindowPlan {
  owner: LimitOwner;
  label: LimitOwnerKind;
  windows: RateLimitSpec[];
  /** The owner's limits hash: its windows and quota. */
  hashKey: string;
  /** How many windows, as a string. */
  windowCount: string;
  /** The windows' fields in the hash. */
  fields: string[];
  /** The windows' intervalsUs, then their burstsUs, as strings: the client sends strings as they are. */
  intervalArgs: string[];
  intervalsUs: number[];
  /** What an idle window's TAT needs of the hash's life, ms (the longest interval, plus a second). */
  idleLifeMs: number;
  /** (limit - 1) x interval per window: how far ahead of now a TAT may be and still admit one more. */
  burstsUs: number[];
  /** The last quota and bandwidth keys (the same until the period turns); only owners with such limits get them. */
  quotaKey?: CounterKey;
  bwKey?: CounterKey;
}

interface CounterKey {
  period: Period;
  periodId: string;
  key: string;
}

type CounterKind = 'quota' | 'identityQuota' | 'credits' | 'bandwidth';

/** One counter of a check, in the order the codes are decided: quotas, credits, bandwidth. */
interface CounterPlan {
  kind: CounterKind;
  /** A quota's owner: the quota is counted in its limits hash (and `key` is its key from before the hash). */
  hash?: WindowPlan;
  /** A quota's period, as the hash records it. */
  periodId?: string;
  key: string;
  limit: number;
  need: number;
  consume: number;
  ttlMs: number;
  /** End of the period (0: lifetime credits). */
  endMs: number;
}

/** What one check counts: the windows of the key and its identity, and its counters. */
export interface CheckPlan {
  windows: WindowPlan[];
  counters: CounterPlan[];
}

export class Limiter extends RedisLimitsBase {
  private readonly plans = new WeakMap<RateLimitSpec[], WindowPlan>();
  private inFlight = 0;

  /** Gives back what this instance holds of shared capacity (leased mode); exact mode holds nothing. */
  async release(): Promise<void> {}

  /** Judges and (when everything passes) consumes, in one round trip. Never throws. */
  async check(req: LimitRequest): Promise<LimitResult> {
    const nowMs = Math.floor(req.nowMs);
    const cost = wholeNonNegative(req.cost ?? 1);
    const plan = this.checkPlan(req, cost, nowMs);
    // An unlimited key costs no round trip at all.
    if (plan.counters.length === 0 && plan.windows.every((w) => w.windows.length === 0)) return allowedUnlimited();
    let out: string[];
    // Alone, a check leaves at once; while others await their answers, the checks issued in this
    // turn of the event loop are gathered into one write.
    if (this.inFlight > 0) corkUntilNextTurn(this.client);
    this.inFlight++;
    try {
      out = (await this.call('check', () => this.client.kwLimitsCheck(...scriptArgs(plan, cost, nowMs)))).split(' ');
    } catch (err) {
      reportError(this.onError, err, 'check');
      return this.degraded(plan, nowMs);
    } finally {
      this.inFlight--;
    }
    return judged(out, plan, cost, nowMs);
  }

  /** The windows and counters of one check, in script order. */
  private checkPlan(req: LimitRequest, cost: number, nowMs: number): CheckPlan {
    const keyPlan = this.planFor({ accountId: req.accountId, kind: 'key', id: req.keyId }, req.rateLimits);
    const identity = req.identity ?? null;
    const identityPlan = identity ? this.planFor({ accountId: req.accountId, kind: 'identity', id: identity.id }, identity.rateLimits) : null;
    const counters: CounterPlan[] = [];
    // A probe (cost 0) asks whether one unit is left, so a spent counter still says so.
    const need = Math.max(cost, 1);
    if (req.quota) counters.push(this.periodCounter('quota', keyPlan, req.quota.units, req.quota.period, need, cost, nowMs));
    if (identity?.quota && identityPlan) counters.push(this.periodCounter('identityQuota', identityPlan, identity.quota.units, identity.quota.period, need, cost, nowMs));
    if (req.credits) {
      const key = creditsSpentKey(this.prefix, req.accountId, req.keyId, req.credits.epoch);
      counters.push({ kind: 'credits', key, limit: req.credits.budget, need, consume: cost, ttlMs: 0, endMs: 0 });
    }
    if (req.bandwidth) {
      const bytes = wholeNonNegative(req.bytes ?? 0);
      // Response bytes are unknown here, so a spent allowance denies even a request of 0 bytes.
      counters.push(this.periodCounter('bandwidth', keyPlan, req.bandwidth.bytes, req.bandwidth.period, Math.max(bytes, 1), cost > 0 ? bytes : 0, nowMs));
    }
    return { windows: identityPlan ? [keyPlan, identityPlan] : [keyPlan], counters };
  }

  private periodCounter(kind: CounterKind, plan: WindowPlan, limit: number, period: Period, need: number, consume: number, nowMs: number): CounterPlan {
    const bounds = periodBounds(period, nowMs);
    const key = this.counterKey(plan, kind === 'bandwidth' ? 'bw' : 'quota', period, bounds.id);
    const counter: CounterPlan = { kind, key, limit, need, consume, ttlMs: bounds.endMs - nowMs + PERIOD_GRACE_MS, endMs: bounds.endMs };
    if (kind !== 'bandwidth') {
      counter.hash = plan;
      counter.periodId = bounds.id;
    }
    return counter;
  }

  /**
   * Counts bytes known only once a response has streamed (gateway). Never denies: the request
   * already happened; the next check sees the total. Returns null when Redis failed.
   */
  async addBytes(accountId: string, keyId: string, bandwidth: BandwidthSpec, bytes: number, nowMs: number): Promise<CounterState | null> {
    const now = Math.floor(nowMs);
    const period = periodBounds(bandwidth.period, now);
    const amount = wholeNonNegative(bytes);
    const key = periodCounterKey(this.prefix, { accountId, kind: 'key', id: keyId }, 'bw', bandwidth.period, period.id);
    try {
      const used = await this.call('addBytes', () => this.client.kwLimitsAddBytes(key, String(amount), period.endMs - now + PERIOD_GRACE_MS));
      return counterState(bandwidth.bytes, Number(used), period.endMs);
    } catch (err) {
      reportError(this.onError, err, 'addBytes');
      return null;
    }
  }

  /**
   * The windows of an owner's rate limits, their Redis keys and script arguments. A cached key
   * hands the same rateLimits array to every verification, so this is worked out once per array.
   */
  protected planFor(owner: LimitOwner, rateLimits: RateLimitSpec[]): WindowPlan {
    const known = this.plans.get(rateLimits);
    if (known && known.owner.id === owner.id && known.owner.kind === owner.kind && known.owner.accountId === owner.accountId) return known;
    const windows = tightestPerWindow(rateLimits);
    const intervalsUs = windows.map((w) => emissionIntervalUs(w.window, w.limit));
    const burstsUs = windows.map((w, i) => (w.limit - 1) * intervalsUs[i]);
    const plan: WindowPlan = {
      owner,
      label: owner.kind === 'key' ? 'KEY' : 'IDENTITY',
      windows,
      hashKey: limitsHashKey(this.prefix, owner),
      windowCount: String(windows.length),
      fields: windows.map((w) => w.window),
      intervalArgs: [...intervalsUs.map(String), ...burstsUs.map(String)],
      intervalsUs,
      idleLifeMs: Math.ceil(Math.max(0, ...intervalsUs) / 1000) + 1000,
      burstsUs,
    };
    this.plans.set(rateLimits, plan);
    return plan;
  }

  /** The quota or bandwidth counter's key for a period, remembered on the plan until the period turns. */
  private counterKey(plan: WindowPlan, kind: 'quota' | 'bw', period: Period, periodId: string): string {
    const field = kind === 'quota' ? 'quotaKey' : 'bwKey';
    const last = plan[field];
    if (last && last.periodId === periodId && last.period === period) return last.key;
    const key = periodCounterKey(this.prefix, plan.owner, kind, period, periodId);
    plan[field] = { period, periodId, key };
    return key;
  }

  protected degraded(plan: CheckPlan, nowMs: number): LimitResult {
    const open = this.failureMode === 'open';
    // Nothing is known about the counters; report them full (open) or spent (closed).
    const reset = open ? nowMs : nowMs + DEGRADED_RETRY_MS;
    const counter = (kind: CounterKind): CounterState | null => {
      const c = plan.counters.find((x) => x.kind === kind);
      return c ? { limit: c.limit, remaining: open ? c.limit : 0, reset: c.endMs } : null;
    };
    const credits = counter('credits');
    return {
      allowed: open,
      code: open ? 'VALID' : 'RATE_LIMITED',
      ratelimits: plan.windows.flatMap((p) => p.windows.map((w) => ({ owner: p.label, window: w.window, limit: w.limit, remaining: open ? w.limit : 0, reset }))),
      quota: counter('quota'),
      identityQuota: counter('identityQuota'),
      credits: credits && { remaining: credits.remaining, budget: credits.limit, crossedLow: false },
      bandwidth: counter('bandwidth'),
      retryAfterMs: open ? 0 : DEGRADED_RETRY_MS,
      degraded: true,
    };
  }
}

/**
 * numKeys, KEYS, then ARGV as CHECK_LUA reads them, in one array: one spread into the command.
 * An owner goes in when it has windows or a quota; its quota is the next one in plan.counters
 * (quotas come first there, the key's before its identity's), so the script answers the counters
 * in plan order.
 */
function scriptArgs(plan: CheckPlan, cost: number, nowMs: number): (string | number)[] {
  const hashes: string[] = [];
  const priorQuotaKeys: string[] = [];
  const ownerArgs: (string | number)[] = [];
  let windows = 0;
  for (const w of plan.windows) {
    const quota = plan.counters.find((c) => c.hash === w);
    if (w.windows.length === 0 && !quota) continue;
    hashes.push(w.hashKey);
    windows += w.windows.length;
    // Rounded up to a minute: the script sets the hash's TTL again only when this changes.
    const expires = Math.ceil(Math.max(nowMs + w.idleLifeMs, quota ? quota.endMs + PERIOD_GRACE_MS : 0) / 60_000) * 60_000;
    if (quota) {
      ownerArgs.push(2 * w.windows.length + 1, String(expires), quota.limit, quota.periodId!);
      priorQuotaKeys.push(quota.key);
    } else ownerArgs.push(2 * w.windows.length, String(expires));
    ownerArgs.push(...w.fields);
    for (const interval of w.intervalsUs) ownerArgs.push(String(nowMs * 1000 + interval));
    ownerArgs.push(...w.intervalArgs);
  }
  const plain = plan.counters.filter((c) => !c.hash);
  const args: (string | number)[] = [hashes.length + plain.length + priorQuotaKeys.length, ...hashes];
  for (const c of plain) args.push(c.key);
  args.push(...priorQuotaKeys, nowMs * 1000, cost, hashes.length, windows, plain.length, ...ownerArgs);
  for (const c of plain) args.push(c.limit, c.need, c.consume, c.ttlMs);
  return args;
}

const CODE_OF: Record<CounterKind, LimitCode> = { quota: 'QUOTA_EXCEEDED', identityQuota: 'QUOTA_EXCEEDED', credits: 'CREDITS_EXHAUSTED', bandwidth: 'BANDWIDTH_EXCEEDED' };

/**
 * The script's answer (see CHECK_LUA): whether it admitted the request, and every window and
 * counter as it stood before; what each became (when admitted) and which failed is worked out here.
 */
function judged(out: string[], plan: CheckPlan, cost: number, nowMs: number): LimitResult {
  const allowed = out[0] === '1';
  const nowUs = nowMs * 1000;
  let retryAfterMs = 0;
  let code: LimitCode = 'VALID';
  const ratelimits: RateLimitState[] = [];
  let at = 1;
  for (const p of plan.windows) {
    for (let i = 0; i < p.windows.length; i++) {
      const w = p.windows[i];
      const before = Math.max(Number(out[at++]), nowUs);
      const view = rateView(allowed && cost > 0 ? before + p.intervalsUs[i] : before, nowMs, w.window, w.limit);
      if (before - nowUs > p.burstsUs[i]) {
        code = 'RATE_LIMITED';
        retryAfterMs = Math.max(retryAfterMs, view.reset - nowMs);
      }
      ratelimits.push({ owner: p.label, window: w.window, limit: w.limit, ...view });
    }
  }
  const result: LimitResult = { allowed, code, ratelimits, quota: null, identityQuota: null, credits: null, bandwidth: null, retryAfterMs: 0, degraded: false };
  for (const c of plan.counters) {
    const before = Number(out[at++]);
    const used = allowed ? before + c.consume : before;
    if (before + c.need > c.limit) {
      if (code === 'VALID') code = CODE_OF[c.kind];
      // Credits come back only with a refill or a new budget: nothing to wait for.
      if (c.endMs > 0) retryAfterMs = Math.max(retryAfterMs, c.endMs - nowMs);
    }
    if (c.kind === 'credits') {
      const remaining = Math.max(0, c.limit - used);
      const remainingBefore = remaining + (allowed ? c.consume : 0);
      const low = c.limit / 10;
      result.credits = { remaining, budget: c.limit, crossedLow: allowed && c.consume > 0 && remainingBefore >= low && remaining < low };
    } else result[c.kind] = counterState(c.limit, used, c.endMs);
  }
  result.code = allowed ? 'VALID' : code;
  result.retryAfterMs = allowed ? 0 : retryAfterMs;
  return result;
}

export function allowedUnlimited(): LimitResult {
  return { allowed: true, code: 'VALID', ratelimits: [], quota: null, identityQuota: null, credits: null, bandwidth: null, retryAfterMs: 0, degraded: false };
}

function counterState(limit: number, used: number, endMs: number): CounterState {
  return { limit, remaining: Math.max(0, limit - used), reset: endMs };
}

/** Redis counts integers; anything else (NaN, negative, fractions) is clamped rather than thrown. */
export function wholeNonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER) : 0;
}

/**
 * One GCRA key per window, so two limits on the same window would share (and double-spend)
 * it. Configuration should not allow that; if it happens, the tighter limit is the one enforced.
 * Windows come back shortest first, which is the order clients expect to read them in.
 */
export function tightestPerWindow(limits: RateLimitSpec[]): RateLimitSpec[] {
  const byWindow = new Map<RateWindow, RateLimitSpec>();
  for (const l of limits) {
    const seen = byWindow.get(l.window);
    if (!seen || l.limit < seen.limit) byWindow.set(l.window, { window: l.window, limit: Math.floor(l.limit) });
  }
  return [...byWindow.values()].sort((a, b) => WINDOW_MS[a.window] - WINDOW_MS[b.window]);
}

/**
 * The window a client should pace itself by (the gateway's RateLimit-* headers): fewest
 * requests left; on a tie, the one that takes longer to come back.
 */
export function tightestRateLimit(states: RateLimitState[]): RateLimitState | null {
  let best: RateLimitState | null = null;
  for (const s of states) {
    if (!best || s.remaining < best.remaining || (s.remaining === best.remaining && s.reset > best.reset)) best = s;
  }
  return best;
}
