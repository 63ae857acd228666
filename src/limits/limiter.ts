import { RedisLimitsBase, reportError } from './failure';
import { emissionIntervalUs, rateView, WINDOW_MS, type RateWindow } from './gcra';
import { periodBounds, type Period, type PeriodBounds } from './periods';
import { periodCounterKey, rateWindowKey } from '../infra/redis-keys';
import { corkUntilNextTurn } from './scripts';

// Rate windows, quota and bandwidth of one API key, judged and consumed in one Redis script.
//
// Time comes from the caller (req.nowMs), not from Redis TIME: tests move time without
// sleeping, and the verify path already holds "now" for its other checks (expiry, access
// windows), so every check of one request sees the same instant. The trade-off: instances must
// keep their clocks in sync (NTP); an instance whose clock runs ahead spends window allowance
// early, one running behind sees windows refill late. Skew shifts limits by the skew, no more.

export type LimitCode = 'VALID' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'BANDWIDTH_EXCEEDED';

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

export interface LimitRequest {
  keyId: string;
  rateLimits: RateLimitSpec[];
  quota?: QuotaSpec | null;
  bandwidth?: BandwidthSpec | null;
  /** Quota units this request spends (default 1). 0 probes: it is judged but spends nothing. */
  cost?: number;
  /** Bytes already known at check time (default 0). */
  bytes?: number;
  nowMs: number;
}

export interface RateLimitState {
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

export interface LimitResult {
  allowed: boolean;
  code: LimitCode;
  ratelimits: RateLimitState[];
  quota: CounterState | null;
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

export interface WindowPlan {
  keyId: string;
  windows: RateLimitSpec[];
  rateKeys: string[];
  // Script arguments as strings, worked out once: the client sends strings as they are.
  /** How many windows. */
  windowCount: string;
  /** intervalUs, limit per window. */
  windowArgs: string[];
  /** The last quota and bandwidth keys (the same until the period turns); only keys with such limits get them. */
  quotaKey?: CounterKey;
  bwKey?: CounterKey;
}

interface CounterKey {
  period: Period;
  periodId: string;
  key: string;
}

export class Limiter extends RedisLimitsBase {
  private readonly plans = new WeakMap<RateLimitSpec[], WindowPlan>();
  private inFlight = 0;

  /** Gives back what this instance holds of shared capacity (leased mode); exact mode holds nothing. */
  async release(): Promise<void> {}

  /** Judges and (when everything passes) consumes, in one round trip. Never throws. */
  async check(req: LimitRequest): Promise<LimitResult> {
    const nowMs = Math.floor(req.nowMs);
    const plan = this.planFor(req.keyId, req.rateLimits);
    const quota = req.quota ?? null;
    const bandwidth = req.bandwidth ?? null;
    // An unlimited key costs no round trip at all.
    if (plan.windows.length === 0 && !quota && !bandwidth) return allowedUnlimited();
    const quotaPeriod = quota ? periodBounds(quota.period, nowMs) : null;
    const bandwidthPeriod = bandwidth ? periodBounds(bandwidth.period, nowMs) : null;
    const cost = wholeNonNegative(req.cost ?? 1);
    const args = this.scriptArgs(plan, quota, quotaPeriod, bandwidth, bandwidthPeriod, cost, wholeNonNegative(req.bytes ?? 0), nowMs);

    let out: number[];
    // Alone, a check leaves at once; while others await their answers, the checks issued in this
    // turn of the event loop are gathered into one write.
    if (this.inFlight > 0) corkUntilNextTurn(this.client);
    this.inFlight++;
    try {
      out = (await this.call('check', () => this.client.kwLimitsCheck(...args))).split(' ').map(Number);
    } catch (err) {
      reportError(this.onError, err, 'check');
      return this.degraded(plan.windows, quota, bandwidth, nowMs);
    } finally {
      this.inFlight--;
    }
    return judged(out, plan.windows, quota, quotaPeriod, bandwidth, bandwidthPeriod, nowMs);
  }

  /** numKeys, KEYS, then ARGV as CHECK_LUA reads them, in one array: one spread into the command, no intermediate copies. */
  private scriptArgs(
    plan: WindowPlan,
    quota: QuotaSpec | null,
    quotaPeriod: PeriodBounds | null,
    bandwidth: BandwidthSpec | null,
    bandwidthPeriod: PeriodBounds | null,
    cost: number,
    bytes: number,
    nowMs: number,
  ): (string | number)[] {
    const args: (string | number)[] = [plan.windows.length + (quota ? 1 : 0) + (bandwidth ? 1 : 0), ...plan.rateKeys];
    if (quota && quotaPeriod) args.push(this.counterKey(plan, 'quota', quota.period, quotaPeriod.id));
    if (bandwidth && bandwidthPeriod) args.push(this.counterKey(plan, 'bw', bandwidth.period, bandwidthPeriod.id));
    args.push(nowMs * 1000, cost > 0 ? '1' : '0', plan.windowCount, ...plan.windowArgs);
    if (quota && quotaPeriod) {
      // A probe (cost 0) asks whether one unit is left, so an exhausted quota still says so.
      args.push('1', quota.units, Math.max(cost, 1), cost, quotaPeriod.endMs - nowMs + PERIOD_GRACE_MS);
    } else args.push('0');
    if (bandwidth && bandwidthPeriod) {
      // Response bytes are unknown here, so a spent allowance denies even a request of 0 bytes.
      args.push('1', bandwidth.bytes, Math.max(bytes, 1), cost > 0 ? bytes : 0, bandwidthPeriod.endMs - nowMs + PERIOD_GRACE_MS);
    } else args.push('0');
    return args;
  }

  /**
   * Counts bytes known only once a response has streamed (gateway). Never denies: the request
   * already happened; the next check sees the total. Returns null when Redis failed.
   */
  async addBytes(keyId: string, bandwidth: BandwidthSpec, bytes: number, nowMs: number): Promise<CounterState | null> {
    const now = Math.floor(nowMs);
    const period = periodBounds(bandwidth.period, now);
    const amount = wholeNonNegative(bytes);
    try {
      const used = await this.call('addBytes', () => this.client.kwLimitsAddBytes(this.bandwidthKey(keyId, bandwidth, period.id), String(amount), period.endMs - now + PERIOD_GRACE_MS));
      return counterState(bandwidth.bytes, Number(used), period.endMs);
    } catch (err) {
      reportError(this.onError, err, 'addBytes');
      return null;
    }
  }

  /**
   * The windows of a key's rate limits, their Redis keys and script arguments. A cached key hands
   * the same rateLimits array to every verification, so this is worked out once per array.
   */
  protected planFor(keyId: string, rateLimits: RateLimitSpec[]): WindowPlan {
    const known = this.plans.get(rateLimits);
    if (known && known.keyId === keyId) return known;
    const windows = tightestPerWindow(rateLimits);
    const plan: WindowPlan = {
      keyId,
      windows,
      rateKeys: windows.map((w) => rateWindowKey(this.prefix, keyId, w.window)),
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
    const key = periodCounterKey(this.prefix, plan.keyId, kind, period, periodId);
    plan[field] = { period, periodId, key };
    return key;
  }

  private bandwidthKey(keyId: string, bandwidth: BandwidthSpec, periodId: string): string {
    return periodCounterKey(this.prefix, keyId, 'bw', bandwidth.period, periodId);
  }

  protected degraded(windows: RateLimitSpec[], quota: QuotaSpec | null, bandwidth: BandwidthSpec | null, nowMs: number): LimitResult {
    const open = this.failureMode === 'open';
    // Nothing is known about the counters; report them full (open) or spent (closed).
    const reset = open ? nowMs : nowMs + DEGRADED_RETRY_MS;
    const counter = (limit: number, period: Period): CounterState => ({
      limit,
      remaining: open ? limit : 0,
      reset: periodBounds(period, nowMs).endMs,
    });
    return {
      allowed: open,
      code: open ? 'VALID' : 'RATE_LIMITED',
      ratelimits: windows.map((w) => ({ window: w.window, limit: w.limit, remaining: open ? w.limit : 0, reset })),
      quota: quota ? counter(quota.units, quota.period) : null,
      bandwidth: bandwidth ? counter(bandwidth.bytes, bandwidth.period) : null,
      retryAfterMs: open ? 0 : DEGRADED_RETRY_MS,
      degraded: true,
    };
  }
}

/** The script's answer (see CHECK_LUA) as the caller reads it. */
function judged(out: number[], windows: RateLimitSpec[], quota: QuotaSpec | null, quotaPeriod: PeriodBounds | null, bandwidth: BandwidthSpec | null, bandwidthPeriod: PeriodBounds | null, nowMs: number): LimitResult {
  const [allowedFlag, quotaFailed, bandwidthFailed, quotaUsed, bandwidthUsed] = out;
  let retryAfterMs = 0;
  let rateFailed = false;
  const ratelimits = windows.map((w, i) => {
    const view = rateView(out[6 + 2 * i], nowMs, w.window, w.limit);
    if (out[5 + 2 * i] === 1) {
      rateFailed = true;
      retryAfterMs = Math.max(retryAfterMs, view.reset - nowMs);
    }
    return { window: w.window, limit: w.limit, ...view };
  });
  const quotaState = quota && quotaPeriod ? counterState(quota.units, quotaUsed, quotaPeriod.endMs) : null;
  const bandwidthState = bandwidth && bandwidthPeriod ? counterState(bandwidth.bytes, bandwidthUsed, bandwidthPeriod.endMs) : null;
  if (quotaFailed === 1 && quotaPeriod) retryAfterMs = Math.max(retryAfterMs, quotaPeriod.endMs - nowMs);
  if (bandwidthFailed === 1 && bandwidthPeriod) retryAfterMs = Math.max(retryAfterMs, bandwidthPeriod.endMs - nowMs);

  const allowed = allowedFlag === 1;
  const code: LimitCode = allowed ? 'VALID' : rateFailed ? 'RATE_LIMITED' : quotaFailed === 1 ? 'QUOTA_EXCEEDED' : 'BANDWIDTH_EXCEEDED';
  return { allowed, code, ratelimits, quota: quotaState, bandwidth: bandwidthState, retryAfterMs: allowed ? 0 : retryAfterMs, degraded: false };
}

export function allowedUnlimited(): LimitResult {
  return { allowed: true, code: 'VALID', ratelimits: [], quota: null, bandwidth: null, retryAfterMs: 0, degraded: false };
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
