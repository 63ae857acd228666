import type { Permission } from '../generated/prisma/enums';
import { evaluateCondition, type ConditionAttributes } from './condition';
import { countryAllowed } from './country';
import { ipInRanges, parseIp } from './ip';
import { permits } from './permission';
import { satisfies, type PermissionQuery } from './permission-query';
import type { ResolvedKey, ResolvedLink } from './resolved-key';
import { scopeAllows, type ScopeTarget } from './scope';
import { isExpired, isRevoked } from './usable';
import { withinAccessWindows } from './window';

// The verification decision, as one function of named checks in a fixed order (the README's
// "Verification and the gateway" lists the codes in that order). Everything here is already
// resolved (key chain, membership, target account): no I/O.

export type VerifyCode =
  | 'VALID'
  | 'NOT_FOUND'
  | 'EXPIRED'
  | 'REVOKED'
  | 'INSUFFICIENT_PERMISSIONS'
  | 'OUT_OF_SCOPE'
  | 'IP_NOT_ALLOWED'
  | 'OUTSIDE_ACCESS_WINDOW'
  | 'COUNTRY_NOT_ALLOWED'
  | 'CONDITION_FAILED'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'CREDITS_EXHAUSTED'
  | 'BANDWIDTH_EXCEEDED'
  /** Forward auth and ext_authz only: the key sets limits that need the response (bandwidth, concurrency). */
  | 'FORWARD_AUTH_UNSUPPORTED';

/** What the decision reads of a resolved key. */
export type DecisionKey = Pick<ResolvedKey, 'accountId' | 'type' | 'chain' | 'metadata'> & { permissions?: readonly string[] };

export interface VerifyRequest extends ScopeTarget {
  permission: Permission;
  /** A parsed permission query over the key's effective permission strings (verify's "permissions"). */
  permissionQuery?: PermissionQuery;
  ip?: string;
  /** ISO country of `ip` (null: unknown); only needed when a link restricts countries or has a condition. */
  country?: string | null;
  method?: string;
  path?: string;
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Current addresses of an allowlist hostname (null: not resolved yet). */
  hostAddresses?: (hostname: string) => readonly string[] | null;
}

function ipAllowed(link: ResolvedLink, r: VerifyRequest): boolean {
  const hosts = link.ipHosts;
  if (link.ipRanges.length === 0 && hosts.length === 0) return true;
  if (!r.ip) return false;
  if (ipInRanges(r.ip, link.ipRanges)) return true;
  const ip = parseIp(r.ip)?.toString();
  return hosts.some((h) => (r.hostAddresses?.(h) ?? []).some((a) => parseIp(a)?.toString() === ip));
}

function conditionAttributes(k: DecisionKey, r: VerifyRequest, now: number): ConditionAttributes {
  return {
    request: {
      ip: r.ip ?? '',
      time: now,
      agentId: r.agentId,
      workflowId: r.workflowId,
      permission: r.permission,
      country: r.country,
      method: r.method,
      path: r.path,
      headers: r.headers,
    },
    key: { type: k.type, metadata: k.metadata ?? {} },
  };
}

export const checks: ReadonlyArray<[VerifyCode, (k: DecisionKey, r: VerifyRequest, now: number) => boolean]> = [
  ['EXPIRED', (k, _r, now) => !k.chain.some((l) => isExpired(l, now))],
  ['REVOKED', (k, _r, now) => !k.chain.some((l) => isRevoked(l, now))],
  ['INSUFFICIENT_PERMISSIONS', (k, r) => k.chain.every((l) => permits(l.permission, r.permission)) && (!r.permissionQuery || satisfies(r.permissionQuery, k.permissions ?? []))],
  ['OUT_OF_SCOPE', (k, r) => k.chain.every((l) => scopeAllows(l.scope, k.accountId, r))],
  ['IP_NOT_ALLOWED', (k, r) => k.chain.every((l) => ipAllowed(l, r))],
  ['OUTSIDE_ACCESS_WINDOW', (k, _r, now) => k.chain.every((l) => withinAccessWindows(l.accessWindows, now))],
  ['COUNTRY_NOT_ALLOWED', (k, r) => k.chain.every((l) => countryAllowed(l.allowedCountries, r.country))],
  [
    'CONDITION_FAILED',
    (k, r, now) => {
      if (!k.chain.some((l) => l.condition)) return true;
      const attrs = conditionAttributes(k, r, now);
      return k.chain.every((l) => !l.condition || evaluateCondition(l.condition, attrs));
    },
  ],
];

/** The first failing check's code, or VALID. A missing key is NOT_FOUND. */
export function decide(key: DecisionKey | null, req: VerifyRequest, now: number): VerifyCode {
  if (!key) return 'NOT_FOUND';
  for (const [code, passes] of checks) {
    if (!passes(key, req, now)) return code;
  }
  return 'VALID';
}
