import type { KeyStatus, KeyType, Permission, ScopeKind } from '../generated/prisma/enums';
import type { CompiledCondition } from './condition';
import type { IpRange } from './ip';
import type { KeyLimits, QuotaSetting, RateLimitSetting } from './key-settings';
import type { ScopeRule } from './scope';
import type { AccessWindow } from './window';

// A key resolved for verification: the key and its ancestor chain, read once (keys/resolve.ts)
// and kept in the in-process cache, so everything a decision needs is at hand without I/O.
// Up to 10,000 of these are cached: lists are shared where they are empty, sets exist only for
// the scopes that consult them.

/** One key of the chain as verification sees it; times are epoch milliseconds. */
export interface ResolvedLink {
  id: string;
  status: KeyStatus;
  expiresAt: number | null;
  graceEndsAt: number | null;
  permission: Permission;
  scope: ScopeRule;
  /** Empty (with no hostnames): no IP restriction on this link. */
  ipRanges: readonly IpRange[];
  /** Hostname entries of the allowlist (dynamic IPs), matched against their current addresses. */
  ipHosts: readonly string[];
  accessWindows: readonly AccessWindow[];
  allowedCountries: readonly string[];
  /** A stored condition that no longer compiles is kept as one that denies. */
  condition: CompiledCondition | null;
}

/** The identity a key belongs to: its limits are counted for all of its keys together. */
export interface ResolvedIdentity {
  id: string;
  externalId: string;
  metadata: Readonly<Record<string, unknown>> | null;
  rateLimits: RateLimitSetting[];
  quota: QuotaSetting | null;
}

export interface ResolvedKey {
  id: string;
  accountId: string;
  type: KeyType;
  master: boolean;
  /** `chain[0]` is the key, then its parent, up to the root. */
  chain: readonly ResolvedLink[];
  ancestorIds: string[];
  /** Lowest permission along the chain. */
  effectivePermission: Permission;
  scopeKind: ScopeKind;
  scopeAgentId: string | null;
  scopeGroupAgentIds: string[];
  scopeWorkflowIds: string[];
  /** Earliest expiry along the chain. */
  expiresAt: Date | null;
  /** Ids of every key in the chain: any change to one of them drops the cached entry. */
  chainIds: string[];
  /** The key's own metadata, as `key.metadata` in conditions. */
  metadata: Readonly<Record<string, unknown>> | null;
  /** The narrowest limits along the chain; counted per key. */
  limits: KeyLimits;
  identity: ResolvedIdentity | null;
  /** Effective permission strings: each link's own plus its roles', intersected along the chain. */
  permissions: readonly string[];
  /** The key's lifetime budget as set or last refilled, and its epoch (what is spent lives in Redis). */
  credits: { budget: number; epoch: number } | null;
  /** A link restricts countries or has a condition: the request's country must be looked up. */
  needsCountry: boolean;
  /** Allowlist hostnames anywhere in the chain (resolved ahead of use). */
  hostnames: string[];
}
