import { LRUCache } from 'lru-cache';
import type { Permission } from '../generated/prisma/enums';
import { decide, type VerifyCode, type VerifyRequest } from '../access/decide';
import type { PermissionQuery } from '../access/permission-query';
import type { TargetDirectory } from '../agents/targets';
import type { VerificationDetectors } from '../audit/detectors';
import { clock } from '../infra/clock';
import { countryOf } from '../infra/geoip';
import type { HostnameResolver } from '../infra/hostnames';
import { verifyDecisions, verifyDuration } from '../infra/metrics';
import type { KeyCache } from '../keys/cache';
import type { ResolvedKey } from '../keys/resolve';
import { digestSecret, parseSecret } from '../keys/secret';
import type { BruteForceGuard, Limiter, LimitResult } from '../limits';
import type { UsageBuffer } from '../reports/usage-buffer';
import type { UseRecorder } from '../keys/uses';

// Verification without the HTTP, as named stages in a fixed order:
//   guard   a caller blocked for presenting unknown keys is refused before anything else (by
//           the address the request came from, never the `ip` it names for the policy)
//   resolve checksum, then the cached key (or one read of the key and its chain)
//   enrich  what the policy needs beyond the key: the target's account, DNS answers, country
//   decide  the policy table (access/decide: pure, no I/O)
//   count   every limit in one Redis script, only for a request the policy allows
//   record  usage tally, side effects of a use, detectors; none of them waits
// Nothing is counted for a request that fails before the limits. Every stage reads one clock.

export interface VerifyInput {
  key: string;
  agentId?: string;
  workflowId?: string;
  permission: Permission;
  /** Parsed from verify's "permissions" (malformed queries never get here). */
  permissionQuery?: PermissionQuery;
  /** The address the policy sees (allowlists, countries, conditions, usage). */
  ip?: string;
  /**
   * The address the request came from (the connection's, or the trusted proxies' view of it):
   * what the brute-force guard counts and blocks. A caller cannot choose it.
   */
  callerIp?: string;
  cost: number;
  bytes: number;
  /** Gateway requests: what conditions see as request.method, .path, .headers. */
  method?: string;
  path?: string;
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /**
   * Forward auth and ext_authz: the proxy never reports the response, so bandwidth and
   * concurrency limits cannot be kept; a key that sets them is refused (FORWARD_AUTH_UNSUPPORTED).
   */
  responseUnseen?: boolean;
}

interface VerifyResult {
  valid: boolean;
  code: VerifyCode;
  keyId: string | null;
  accountId: string | null;
  permission: Permission | null;
  scope: { kind: string; agentId: string | null; workflowIds: string[] } | null;
  expiresAt: string | null;
  ratelimits: { owner: 'KEY' | 'IDENTITY'; window: string; limit: number; remaining: number; reset: number }[];
  /** The key's quota or its identity's, whichever has fewer units left. */
  quota: { limit: number; remaining: number; reset: number } | null;
  identity: { id: string; externalId: string; metadata: Readonly<Record<string, unknown>> | null } | null;
  /** The key's own metadata. */
  metadata: Readonly<Record<string, unknown>> | null;
  /** Effective permission strings. */
  permissions: readonly string[];
  credits: { remaining: number } | null;
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

/**
 * What the stages use. Every member is required: a verification without a limiter would mean
 * "no limits", so code that wants none says so with an explicit no-op.
 */
export interface VerifyDeps {
  guard: Pick<BruteForceGuard, 'retryAfterMs' | 'recordFailure'>;
  cache: Pick<KeyCache, 'get'>;
  targets: Pick<TargetDirectory, 'accountOf'>;
  hostnames: Pick<HostnameResolver, 'addresses' | 'prefetch'>;
  limiter: Pick<Limiter, 'check'>;
  usage: Pick<UsageBuffer, 'record'>;
  uses: Pick<UseRecorder, 'onValid' | 'onCreditsLow'>;
  detectors: Pick<VerificationDetectors, 'onDenied'>;
}

/** The entry point a verification came through (the `via` label of keywarden_verify_decisions_total). */
export type VerifyVia = 'verify' | 'gateway' | 'forward' | 'ext_authz';

export async function verifyKey(deps: VerifyDeps, input: VerifyInput, via: VerifyVia = 'verify'): Promise<VerifyOutcome> {
  const started = process.hrtime.bigint();
  const outcome = await verification(deps, input);
  verifyDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  decisionCounter(outcome.blockedForMs ? 'TOO_MANY_FAILED_ATTEMPTS' : outcome.result.code, via).inc();
  return outcome;
}

async function verification(deps: VerifyDeps, input: VerifyInput): Promise<VerifyOutcome> {
  const nowMs = clock.nowMs();
  const blockedForMs = deps.guard.retryAfterMs(input.callerIp, nowMs);
  if (blockedForMs > 0) return { blockedForMs, result: NOT_FOUND, retryAfterMs: blockedForMs, key: null, limits: null };
  const key = await resolve(deps, input.key);
  if (!key) {
    void deps.guard.recordFailure(input.callerIp, nowMs);
    return { result: NOT_FOUND, retryAfterMs: 0, key: null, limits: null };
  }
  const request = await enrich(deps, key, input);
  const decided = refuseUnkeptLimits(decide(key, request, nowMs), key, input);
  const limits = decided === 'VALID' ? await count(deps, key, input, nowMs) : null;
  const code = limits ? limits.code : decided;
  record(deps, key, input, { country: request.country ?? null, code, outage: limits?.degraded === true }, nowMs);
  if (limits?.credits?.crossedLow) deps.uses.onCreditsLow(key, limits.credits.remaining);
  return answer(key, code, limits);
}

/** The key and its chain, or null: a wrong checksum is rejected before any cache or database read. */
function resolve(deps: VerifyDeps, secret: string): Promise<ResolvedKey | null> | null {
  return parseSecret(secret) ? deps.cache.get(digestSecret(secret)) : null;
}

async function enrich(deps: VerifyDeps, key: ResolvedKey, input: VerifyInput): Promise<VerifyRequest> {
  let targetAccountId: string | undefined;
  if (input.workflowId) targetAccountId = await deps.targets.accountOf('workflow', input.workflowId);
  else if (input.agentId) targetAccountId = await deps.targets.accountOf('agent', input.agentId);
  const hostnames = deps.hostnames;
  // First use after a (re)load: wait for DNS once; later answers come from the resolver's cache.
  if (key.hostnames.length > 0 && key.hostnames.some((h) => hostnames.addresses(h) === null)) await hostnames.prefetch(key.hostnames);
  return {
    permission: input.permission,
    permissionQuery: input.permissionQuery,
    ip: input.ip,
    agentId: input.agentId?.toLowerCase(),
    workflowId: input.workflowId?.toLowerCase(),
    targetAccountId,
    // Restrictions, conditions and GEO_ANOMALY (from the usage tally) read it; one in-memory lookup.
    country: input.ip ? cachedCountryOf(input.ip) : null,
    method: input.method,
    path: input.path,
    headers: input.headers,
    hostAddresses: (h) => hostnames.addresses(h),
  };
}

/** Part of the decide stage: limits that need the response cannot be kept where it is never seen. */
function refuseUnkeptLimits(code: VerifyCode, key: ResolvedKey, input: VerifyInput): VerifyCode {
  if (code !== 'VALID' || !input.responseUnseen) return code;
  return key.limits.bandwidth || key.limits.maxConcurrent !== null ? 'FORWARD_AUTH_UNSUPPORTED' : code;
}

function count(deps: VerifyDeps, key: ResolvedKey, input: VerifyInput, nowMs: number): Promise<LimitResult> {
  const { rateLimits, quota, bandwidth } = key.limits;
  const identity = key.identity;
  return deps.limiter.check({ accountId: key.accountId, keyId: key.id, rateLimits, quota, bandwidth, identity, credits: key.credits, cost: input.cost, bytes: input.bytes, nowMs });
}

/** `outage`: Redis could not be asked and the failure mode decided the answer. */
function record(deps: VerifyDeps, key: ResolvedKey, input: VerifyInput, seen: { country: string | null; code: VerifyCode; outage: boolean }, nowMs: number): void {
  const { country, code } = seen;
  if (code === 'VALID') deps.uses.onValid(key, input.ip);
  // A closed-mode denial during a Redis outage is the outage, not abuse: no detector counts it.
  else if (!seen.outage) deps.detectors.onDenied(key, code, input.ip, nowMs);
  deps.usage.record({
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
}

function answer(key: ResolvedKey, code: VerifyCode, limits: LimitResult | null): VerifyOutcome {
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
      quota: tighterQuota(limits),
      identity: key.identity && { id: key.identity.id, externalId: key.identity.externalId, metadata: key.identity.metadata },
      metadata: key.metadata,
      permissions: key.permissions,
      credits: creditsLeft(key, limits),
    },
    retryAfterMs: limits?.retryAfterMs ?? 0,
    key,
    limits,
  };
}

function tighterQuota(limits: LimitResult | null): VerifyResult['quota'] {
  const own = limits?.quota ?? null;
  const shared = limits?.identityQuota ?? null;
  if (!own || !shared) return own ?? shared;
  return shared.remaining < own.remaining ? shared : own;
}

/** What the limits script saw; a request denied before the limits shows the budget as set. */
function creditsLeft(key: ResolvedKey, limits: LimitResult | null): VerifyResult['credits'] {
  if (!key.credits) return null;
  return { remaining: limits?.credits ? limits.credits.remaining : key.credits.budget };
}

/** The answer for a key that does not exist (also /openapi.json's example of it). */
export const NOT_FOUND: VerifyResult = Object.freeze({
  valid: false,
  code: 'NOT_FOUND',
  keyId: null,
  accountId: null,
  permission: null,
  scope: null,
  expiresAt: null,
  ratelimits: [],
  quota: null,
  identity: null,
  metadata: null,
  permissions: [],
  credits: null,
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
