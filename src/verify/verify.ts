import { LRUCache } from 'lru-cache';
import type { Permission } from '../generated/prisma/enums';
import { decide, type VerifyCode } from '../access/decide';
import { clock } from '../infra/clock';
import { countryOf } from '../infra/geoip';
import { verifyDecisions, verifyDuration } from '../infra/metrics';
import type { HostnameResolver } from '../infra/hostnames';
import { digestSecret, parseSecret } from '../keys/secret';
import type { ResolvedKey } from '../keys/resolve';
import type { Limiter, LimitResult } from '../limits';
import type { BruteForceGuard } from './bruteforce';
import type { KeyCache } from './cache';
import type { UseRecorder } from './effects';
import type { TargetDirectory } from './targets';
import type { UsageBuffer } from './usage';
import type { VerificationDetectors } from '../audit/detectors';

// Verification without the HTTP: brute-force block -> checksum -> cache (or one read) ->
// policy -> limits (one Redis script) -> answer. Nothing is counted for a request that fails
// before the limits.

export interface VerifyInput {
  key: string;
  agentId?: string;
  workflowId?: string;
  permission: Permission;
  ip?: string;
  cost: number;
  bytes: number;
  /** Gateway requests: what conditions see as request.method, .path, .headers. */
  method?: string;
  path?: string;
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export interface VerifyResult {
  valid: boolean;
  code: VerifyCode;
  keyId: string | null;
  accountId: string | null;
  permission: Permission | null;
  scope: { kind: string; agentId: string | null; workflowIds: string[] } | null;
  expiresAt: string | null;
  ratelimits: { window: string; limit: number; remaining: number; reset: number }[];
  quota: { limit: number; remaining: number; reset: number } | null;
}

export interface VerifyOutcome {
  /** Set when the caller's IP is blocked for presenting unknown keys: answer 429 TOO_MANY_FAILED_ATTEMPTS. */
  blockedForMs?: number;
  result: VerifyResult;
  /** How long until a request denied by a limit may succeed. */
  retryAfterMs: number;
  /** The resolved key (for the gateway: concurrency, bandwidth). */
  key: ResolvedKey | null;
  limits: LimitResult | null;
}

export interface VerifyDeps {
  cache: KeyCache;
  targets: TargetDirectory;
  limiter?: Limiter;
  guard?: BruteForceGuard;
  uses?: UseRecorder;
  hostnames?: HostnameResolver;
  usage?: UsageBuffer;
  detectors?: VerificationDetectors;
}

const NOT_FOUND: VerifyResult = Object.freeze({
  valid: false,
  code: 'NOT_FOUND',
  keyId: null,
  accountId: null,
  permission: null,
  scope: null,
  expiresAt: null,
  ratelimits: [],
  quota: null,
}) as VerifyResult;

// Callers come back from the same addresses: remember their countries (the data never changes
// while the process runs).
const countries = new LRUCache<string, string>({ max: 50_000 });
function cachedCountryOf(ip: string): string | null {
  const hit = countries.get(ip);
  if (hit !== undefined) return hit || null;
  const c = countryOf(ip);
  countries.set(ip, c ?? '');
  return c;
}

function notFound(deps: VerifyDeps, ip: string | undefined): VerifyOutcome {
  if (deps.guard) void deps.guard.recordFailure(ip);
  return { result: NOT_FOUND, retryAfterMs: 0, key: null, limits: null };
}

export async function verifyKey(deps: VerifyDeps, input: VerifyInput, via: 'verify' | 'gateway' = 'verify'): Promise<VerifyOutcome> {
  const started = process.hrtime.bigint();
  const outcome = await decideAndCount(deps, input);
  verifyDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  decisionCounter(outcome.blockedForMs ? 'TOO_MANY_FAILED_ATTEMPTS' : outcome.result.code, via).inc();
  return outcome;
}

// Label lookups hash their labels on every call; the handful of (code, via) pairs are kept.
const decisionCounters = new Map<string, ReturnType<typeof verifyDecisions.labels>>();
function decisionCounter(code: string, via: string) {
  const tag = `${code}|${via}`;
  let c = decisionCounters.get(tag);
  if (!c) {
    c = verifyDecisions.labels(code, via);
    decisionCounters.set(tag, c);
  }
  return c;
}

async function decideAndCount(deps: VerifyDeps, input: VerifyInput): Promise<VerifyOutcome> {
  const nowMs = clock.nowMs();
  const blockedForMs = deps.guard?.retryAfterMs(input.ip, Date.now()) ?? 0;
  if (blockedForMs > 0) return { blockedForMs, result: NOT_FOUND, retryAfterMs: blockedForMs, key: null, limits: null };

  // A wrong checksum is rejected here, before any cache or database read.
  if (!parseSecret(input.key)) return notFound(deps, input.ip);
  const key = await deps.cache.get(digestSecret(input.key));
  if (!key) return notFound(deps, input.ip);

  let targetAccountId: string | undefined;
  if (input.workflowId) targetAccountId = await deps.targets.accountOf('workflow', input.workflowId);
  else if (input.agentId) targetAccountId = await deps.targets.accountOf('agent', input.agentId);
  if (key.hostnames.length > 0 && deps.hostnames) {
    // First use after a (re)load: wait for DNS once; later answers come from the resolver's cache.
    if (key.hostnames.some((h) => deps.hostnames!.addresses(h) === null)) await deps.hostnames.prefetch(key.hostnames);
  }

  // The country feeds restrictions, conditions and GEO_ANOMALY (usage); one in-memory lookup.
  const country = input.ip && (key.needsCountry || deps.usage) ? cachedCountryOf(input.ip) : null;
  let code = decide(
    key,
    {
      permission: input.permission,
      ip: input.ip,
      agentId: input.agentId?.toLowerCase(),
      workflowId: input.workflowId?.toLowerCase(),
      targetAccountId,
      country,
      method: input.method,
      path: input.path,
      headers: input.headers,
      hostAddresses: deps.hostnames ? (h) => deps.hostnames!.addresses(h) : undefined,
    },
    nowMs,
  );

  let limits: LimitResult | null = null;
  if (code === 'VALID' && deps.limiter) {
    limits = await deps.limiter.check({
      keyId: key.id,
      rateLimits: key.limits.rateLimits,
      quota: key.limits.quota,
      bandwidth: key.limits.bandwidth,
      cost: input.cost,
      bytes: input.bytes,
      nowMs,
    });
    code = limits.code;
  }
  if (code === 'VALID') deps.uses?.onValid(key, input.ip);
  else deps.detectors?.onDenied(key, code, input.ip, nowMs);
  deps.usage?.record({
    keyId: key.id,
    accountId: key.accountId,
    code,
    units: input.cost,
    bytes: input.bytes,
    ip: input.ip,
    country,
    agentId: input.agentId,
    workflowId: input.workflowId,
    atMs: nowMs,
  });

  return {
    result: {
      valid: code === 'VALID',
      code,
      keyId: key.id,
      accountId: key.accountId,
      permission: key.effectivePermission,
      scope: { kind: key.scopeKind, agentId: key.scopeAgentId, workflowIds: key.scopeWorkflowIds },
      expiresAt: key.expiresAt ? key.expiresAt.toISOString() : null,
      ratelimits: limits?.ratelimits ?? [],
      quota: limits?.quota ?? null,
    },
    retryAfterMs: limits?.retryAfterMs ?? 0,
    key,
    limits,
  };
}
