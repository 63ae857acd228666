import type { KeyStatus, KeyType, Permission } from '../generated/prisma/enums';
import { ipInRanges, type IpRange } from './ip';
import { permits } from './permission';
import { scopeAllows, type ScopeRule, type ScopeTarget } from './scope';

// The verification decision, as one function of named checks in the order API.md fixes.
// Everything here is already resolved (key chain, membership, target account): no I/O.

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
  | 'BANDWIDTH_EXCEEDED';

/** One key of the chain (the key itself and each ancestor) as verification sees it. */
export interface ChainLink {
  id: string;
  status: KeyStatus;
  expiresAt: number | null;
  graceEndsAt: number | null;
  permission: Permission;
  scope: ScopeRule;
  /** Empty: no IP restriction on this link. */
  ipRanges: readonly IpRange[];
}

/** A key resolved for verification: `chain[0]` is the key, then its parent, up to the root. */
export interface KeySnapshot {
  id: string;
  accountId: string;
  type: KeyType;
  master: boolean;
  chain: readonly ChainLink[];
}

export interface VerifyRequest extends ScopeTarget {
  permission: Permission;
  ip?: string;
}

function isExpired(link: ChainLink, now: number): boolean {
  return link.status === 'EXPIRED' || (link.expiresAt !== null && link.expiresAt <= now);
}

function isRevoked(link: ChainLink, now: number): boolean {
  if (link.status === 'REVOKED') return true;
  return link.status === 'ROTATING' && link.graceEndsAt !== null && link.graceEndsAt <= now;
}

export const checks: ReadonlyArray<[VerifyCode, (k: KeySnapshot, r: VerifyRequest, now: number) => boolean]> = [
  ['EXPIRED', (k, _r, now) => !k.chain.some((l) => isExpired(l, now))],
  ['REVOKED', (k, _r, now) => !k.chain.some((l) => isRevoked(l, now))],
  ['INSUFFICIENT_PERMISSIONS', (k, r) => k.chain.every((l) => permits(l.permission, r.permission))],
  ['OUT_OF_SCOPE', (k, r) => k.chain.every((l) => scopeAllows(l.scope, k.accountId, r))],
  ['IP_NOT_ALLOWED', (k, r) => k.chain.every((l) => l.ipRanges.length === 0 || (!!r.ip && ipInRanges(r.ip, l.ipRanges)))],
];

/** The first failing check's code, or VALID. A missing key is NOT_FOUND. */
export function decide(key: KeySnapshot | null, req: VerifyRequest, now: number): VerifyCode {
  if (!key) return 'NOT_FOUND';
  for (const [code, passes] of checks) {
    if (!passes(key, req, now)) return code;
  }
  return 'VALID';
}
