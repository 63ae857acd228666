// The shapes the dashboard reads from /graphql (see schema/schema.graphql).

export type Permission = 'READ_ONLY' | 'EXECUTE' | 'MANAGE' | 'FULL_ACCESS';
export type KeyType = 'DEVELOPMENT' | 'PRODUCTION' | 'INTEGRATION' | 'EMERGENCY';
export type KeyStatus = 'ACTIVE' | 'ROTATING' | 'EXPIRED' | 'REVOKED';
export type RateWindow = 'MINUTE' | 'HOUR' | 'DAY';

export const PERMISSIONS: Permission[] = ['READ_ONLY', 'EXECUTE', 'MANAGE', 'FULL_ACCESS'];
export const KEY_TYPES: KeyType[] = ['DEVELOPMENT', 'PRODUCTION', 'INTEGRATION', 'EMERGENCY'];
export const KEY_STATUSES: KeyStatus[] = ['ACTIVE', 'ROTATING', 'EXPIRED', 'REVOKED'];

export interface KeyRef {
  id: string;
  name: string;
  start: string;
  status: KeyStatus;
}

export interface KeySummary extends KeyRef {
  type: KeyType;
  master: boolean;
  permission: Permission;
  effectivePermission: Permission;
  scope: { kind: string };
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  rotationDueAt: string | null;
  graceEndsAt: string | null;
  parent: { id: string } | null;
  children: { edges: { node: { id: string } }[] };
  usage: { requests: number }[];
}

export interface UsagePoint {
  start: string;
  requests: number;
  allowed: number;
  denied: number;
  units: number;
  bytes: number;
}

export interface KeySecretPayload {
  secret: string;
  key: KeyRef;
}

export interface Connection<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const KEY_SUMMARY_FIELDS = `
  id name start type master status permission effectivePermission scope { kind }
  createdAt expiresAt lastUsedAt rotationDueAt graceEndsAt
  parent { id }
  children(first: 1) { edges { node { id } } }
`;
