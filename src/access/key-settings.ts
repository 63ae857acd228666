import type { Permission, ScopeKind } from '../generated/prisma/enums';
import type { Weekday } from './window';

// The typed settings of one key: what its columns hold (the JSON ones parsed once, where rows
// are read) and what the hierarchy and limit rules compare. Plain data; `type` aliases, so a
// setting is also a JSON value as the database stores it.

export const RATE_WINDOWS = ['MINUTE', 'HOUR', 'DAY'] as const;
export type RateWindow = (typeof RATE_WINDOWS)[number];
export const PERIODS = ['DAY', 'MONTH'] as const;
export type Period = (typeof PERIODS)[number];

export type RateLimitSetting = { window: RateWindow; limit: number };
export type QuotaSetting = { units: number; period: Period };
export type BandwidthSetting = { bytes: number; period: Period };
export type AccessWindowSetting = { days: Weekday[]; start: string; end: string; timeZone: string };

/** The limits of one key; along a chain the narrowest of each applies (access/chain.ts). */
export interface KeyLimits {
  rateLimits: RateLimitSetting[];
  quota: QuotaSetting | null;
  bandwidth: BandwidthSetting | null;
  maxConcurrent: number | null;
}

/** A key's scope with its membership resolved (the hierarchy compares reach, not names). */
export interface ScopeSettings {
  kind: ScopeKind;
  agentId?: string | null;
  groupId?: string | null;
  /** AGENT_GROUP: the group's members. */
  groupAgentIds?: readonly string[];
  workflowIds?: readonly string[];
  /** WORKFLOW: the agents of the workflows. */
  workflowAgentIds?: readonly string[];
}

/** A key's credits as the hierarchy compares them: the budget as set or last refilled, and its refill. */
export type CreditsSetting = { budget: number; refill: { amount: number; interval: 'DAILY' | 'MONTHLY' } | null };

/** What one key allows: a derived key's settings must lie within each ancestor's. */
export interface KeySettings extends KeyLimits {
  permission: Permission;
  /** A key under an identity keeps its descendants under it: their use counts against its limits. */
  identityId: string | null;
  /** Permission strings held: the key's own plus its roles'. */
  permissions: readonly string[];
  expiresAt: Date | null;
  scope: ScopeSettings;
  ipAllowlist: readonly string[];
  accessWindows: readonly AccessWindowSetting[];
  allowedCountries: readonly string[];
  /** Absent: not compared (settings read without their credits). */
  credits?: CreditsSetting | null;
}
