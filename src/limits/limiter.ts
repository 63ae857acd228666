import { RedisLimitsBase, reportError } from './failure';
import { emissionIntervalUs, rateView, WINDOW_MS, type RateWindow } from './gcra';
import { periodBounds, type Period } from './periods';
import { creditsSpentKey, periodCounterKey, rateWindowKey, type LimitOwner } from '../infra/redis-keys';
import { corkUntilNextTurn } from './scripts';

// Rate windows, quota, credits and bandwidth of one API key, and the rate windows and quota of its
// identity (shared by all of the identity's keys), judged and consumed in one Redis script.
//
// Time comes from the caller (req.nowMs), not from Redis TIME: tests move time without
// sleeping, and the verify path already holds "now" for its other checks (expiry, access
// windows), so every check of one request sees the same instant. The trade-off: instances must
// keep their clocks in sync (NTP); an instance whose clock runs ahead spends window allowance
// early, one running behind sees windows refill late. Skew shifts limits by the skew, no more.

export type LimitCode = 'VALID' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'CREDITS_EXHAUSTED' | 'BANDWIDTH_EXCEEDED';
export type LimitOwnerKind = 'KEY' | 'IDENTITY';

export interface RateLimitSpec {
  window: RateWindow;
  limit: number;
}
export interface QuotaSpec {
  units: number;
  period: Period;
}
export interface BandwidthSpec {
  bytes: number;
  period: Period;
}

/** The identity's limits, counted for every key of it. */
export interface IdentityLimits {
  id: string;
  rateLimits: RateLimitSpec[];
  quota: QuotaSpec | null;
}
/** A lifetime budget: `budget` as set or last refilled, counted per `epoch` (bumped by each set or refill). */
export interface CreditsSpec {
  budget: number;
  epoch: number;
}

export interface LimitRequest {
  /** The key's account: the hash tag every counter of one check shares (Redis Cluster). */
  accountId: string;
  keyId: string;
  rateLimits: RateLimitSpec[];
  quota?: QuotaSpec | null;
  bandwidth?: BandwidthSpec | null;
  identity?: IdentityLimits | null;
  credits?: CreditsSpec | null;
  /** Quota units this request spends (default 1). 0 probes: it is judged but spends nothing. */
  cost?: number;
  /** Bytes already known at check time (default 0). */
  bytes?: number;
  nowMs: number;
}

export interface RateLimitState {
  /** Whose window: the key's own, or its identity's (shared). */
  owner: LimitOwnerKind;
  window: RateWindow;
  limit: number;
  remaining: number;
  /** Unix ms: with requests left, when the window is full again; with none, when the next one is allowed. */
  reset: number;
}
export interface CounterState {
  limit: number;
  remaining: number;
  /** Unix ms: end of the calendar period (UTC). */
  reset: number;
}

export interface CreditsState {
  remaining: number;
  budget: number;
  /** This call took remaining below 10% of the budget (true for exactly one call per epoch). */
  crossedLow: boolean;
}

export interface LimitResult {
  allowed: boolean;
  code: LimitCode;
  ratelimits: RateLimitState[];
  /** The key's quota. */
  quota: CounterState | null;
  identityQuota: CounterState | null;
  credits: CreditsState | null;
  bandwidth: CounterState | null;
  /** 0 when allowed; otherwise how long until every failing counter would pass again. */
  retryAfterMs: number;
  /** True when Redis could not be asked and the failure mode decided. */
  degraded: boolean;
}

/** A counter key outlives its period a little, so an instance whose clock lags still finds it. */
const PERIOD_GRACE_MS = 60_000;
/** What a closed-mode denial tells the client to wait. */
const DEGRADED_RETRY_MS = 1_000;

/** The rate windows of one owner (key or identity), their Redis keys and script arguments, worked out once. */
export interface WindowPlan {
  owner: LimitOwner;
  label: LimitOwnerKind;
  windows: RateLimitSpec[];
  rateKeys: string[];
  /** How many windows, as a string. */
  windowCount: string;
  /** intervalUs, limit per window, as strings: the client sends strings as they are. */
  windowArgs: string[];
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
    let out: number[];
    // Alone, a check leaves at once; while others await their answers, the checks issued in this
    // turn of the event loop are gathered into one write.
    if (this.inFlight > 0) corkUntilNextTurn(this.client);
    this.inFlight++;
    try {
      out = (await this.call('check', () => this.client.kwLimitsCheck(...scriptArgs(plan, cost, nowMs)))).split(' ').map(Number);
    } catch (err) {
      reportError(this.onError, err, 'check');
      return this.degraded(plan, nowMs);
    } finally {
      this.inFlight--;
    }
    return judged(out, plan, nowMs);
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
    return { kind, key, limit, need, consume, ttlMs: bounds.endMs - nowMs + PERIOD_GRACE_MS, endMs: bounds.endMs };
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
    const plan: WindowPlan = {
      owner,
      label: owner.kind === 'key' ? 'KEY' : 'IDENTITY',
      windows,
      rateKeys: windows.map((w) => rateWindowKey(this.prefix, owner, w.window)),
      windowCount: String(windows.length),
      windowArgs: windows.flatMap((w) => [String(emissionIntervalUs(w.window, w.limit)), String(w.limit)]),
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

/** numKeys, KEYS, then ARGV as CHECK_LUA reads them, in one array: one spread into the command. */
function scriptArgs(plan: CheckPlan, cost: number, nowMs: number): (string | number)[] {
  let windows = 0;
  for (const w of plan.windows) windows += w.windows.length;
  const args: (string | number)[] = [windows + plan.counters.length];
  for (const w of plan.windows) args.push(...w.rateKeys);
  for (const c of plan.counters) args.push(c.key);
  args.push(nowMs * 1000, cost > 0 ? '1' : '0', windows);
  for (const w of plan.windows) args.push(...w.windowArgs);
  args.push(plan.counters.length);
  for (const c of plan.counters) args.push(c.limit, c.need, c.consume, c.ttlMs);
  return args;
}

const CODE_OF: Record<CounterKind, LimitCode> = { quota: 'QUOTA_EXCEEDED', identityQuota: 'QUOTA_EXCEEDED', credits: 'CREDITS_EXHAUSTED', bandwidth: 'BANDWIDTH_EXCEEDED' };

/** The script's answer (see CHECK_LUA) as the caller reads it. */
function judged(out: number[], plan: CheckPlan, nowMs: number): LimitResult {
  let retryAfterMs = 0;
  let code: LimitCode = 'VALID';
  const ratelimits: RateLimitState[] = [];
  let at = 1;
  for (const p of plan.windows) {
    for (const w of p.windows) {
      const view = rateView(out[at + 1], nowMs, w.window, w.limit);
      if (out[at] === 1) {
        code = 'RATE_LIMITED';
        retryAfterMs = Math.max(retryAfterMs, view.reset - nowMs);
      }
      ratelimits.push({ owner: p.label, window: w.window, limit: w.limit, ...view });
      at += 2;
    }
  }
  const result: LimitResult = { allowed: out[0] === 1, code, ratelimits, quota: null, identityQuota: null, credits: null, bandwidth: null, retryAfterMs: 0, degraded: false };
  for (const c of plan.counters) {
    const failed = out[at] === 1;
    const used = out[at + 1];
    at += 2;
    if (failed) {
      if (code === 'VALID') code = CODE_OF[c.kind];
      // Credits come back only with a refill or a new budget: nothing to wait for.
      if (c.endMs > 0) retryAfterMs = Math.max(retryAfterMs, c.endMs - nowMs);
    }
    if (c.kind === 'credits') {
      const remaining = Math.max(0, c.limit - used);
      const before = remaining + (result.allowed ? c.consume : 0);
      const low = c.limit / 10;
      result.credits = { remaining, budget: c.limit, crossedLow: result.allowed && c.consume > 0 && before >= low && remaining < low };
    } else result[c.kind] = counterState(c.limit, used, c.endMs);
  }
  result.code = result.allowed ? 'VALID' : code;
  result.retryAfterMs = result.allowed ? 0 : retryAfterMs;
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
