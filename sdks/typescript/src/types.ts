// The verify answer (README "Verification and the gateway", docs/integrations.md), as the SDK hands it to callers. Fields that identities and permission strings add
// (identity, metadata, permissions, credits, owner) are optional: a server that predates them
// leaves them out.

export type Permission = 'READ_ONLY' | 'EXECUTE' | 'MANAGE' | 'FULL_ACCESS';
export type ScopeKind = 'SINGLE_AGENT' | 'AGENT_GROUP' | 'ALL_AGENTS' | 'WORKFLOW';
export type RateWindow = 'MINUTE' | 'HOUR' | 'DAY';

/** Every `code` a verification can answer, in the order Keywarden checks them. */
export const VERIFY_CODES = [
  'VALID',
  'NOT_FOUND',
  'EXPIRED',
  'REVOKED',
  'INSUFFICIENT_PERMISSIONS',
  'OUT_OF_SCOPE',
  'IP_NOT_ALLOWED',
  'OUTSIDE_ACCESS_WINDOW',
  'COUNTRY_NOT_ALLOWED',
  'CONDITION_FAILED',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'CREDITS_EXHAUSTED',
  'BANDWIDTH_EXCEEDED',
  /** The caller's address kept presenting unknown keys (HTTP 429 from the verify endpoint). */
  'TOO_MANY_FAILED_ATTEMPTS',
] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

/** Codes of a denial answered by a middleware (or the gateway): the verify codes and a few of its own. */
export type DenialCode = Exclude<VerifyCode, 'VALID'> | 'UNAUTHENTICATED' | 'CONCURRENCY_EXCEEDED' | 'FORWARD_AUTH_UNSUPPORTED' | 'KEYWARDEN_UNAVAILABLE';

export interface VerifyRequest {
  /** The API key (secret) to verify. */
  key: string;
  agentId?: string;
  workflowId?: string;
  /** Level the request needs (default `READ_ONLY`). */
  permission?: Permission;
  /** A permission query, e.g. `agents.execute AND (billing.read OR billing.write)`. */
  permissions?: string;
  /** The end client's address (default: the address Keywarden sees, i.e. this process's). */
  ip?: string;
  /** Quota units / credits this request spends (default 1; 0 checks without spending). */
  cost?: number;
  /** Bytes counted against the bandwidth allowance (default 0). */
  bytes?: number;
}

export interface RateLimitState {
  window: RateWindow;
  limit: number;
  remaining: number;
  /** Unix milliseconds: with requests left, when the window is full again; with none, when the next is allowed. */
  reset: number;
  /** Whose limit this is (key or identity); absent on servers that predate it. */
  owner?: 'KEY' | 'IDENTITY';
}

export interface QuotaState {
  limit: number;
  remaining: number;
  /** Unix milliseconds: end of the quota period. */
  reset: number;
}

export interface KeyScope {
  kind: ScopeKind;
  agentId: string | null;
  workflowIds: string[];
}

export interface IdentityRef {
  id: string;
  externalId: string;
  metadata: unknown;
}

interface ResultFields {
  keyId: string | null;
  accountId: string | null;
  permission: Permission | null;
  scope: KeyScope | null;
  /** ISO 8601, or null for a key that never expires. */
  expiresAt: string | null;
  ratelimits: RateLimitState[];
  quota: QuotaState | null;
  identity?: IdentityRef | null;
  /** The key's metadata. */
  metadata?: unknown;
  /** The key's effective permission strings. */
  permissions?: string[];
  credits?: { remaining: number } | null;
  /** Seconds a denied caller should wait (429 codes), else null. */
  retryAfter: number | null;
}

/** Keywarden's answer. */
export interface VerifiedResult extends ResultFields {
  verified: true;
  valid: boolean;
  code: VerifyCode;
}

/**
 * Keywarden could not be asked (timeout, unreachable, 5xx) and the fail mode is `open`: the
 * request is let through unverified. Nothing is known about the key.
 */
export interface UnverifiedResult extends ResultFields {
  verified: false;
  valid: true;
  code: 'UNVERIFIED';
  keyId: null;
  accountId: null;
  permission: null;
  scope: null;
  /** Why it could not be verified. */
  error: Error;
}

export type VerifyResult = VerifiedResult | UnverifiedResult;

export type FailMode = 'open' | 'closed';

/** The JSON error envelope of every Keywarden REST answer and of the middleware denials. */
export interface ErrorEnvelope {
  error: { code: string; message: string };
}
