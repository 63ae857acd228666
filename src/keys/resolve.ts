import type { Prisma } from '../generated/prisma/client';
import type { Tx } from '../infra/db';
import type { ChainLink, KeySnapshot } from '../access/decide';
import { compileCondition, type CompiledCondition } from '../access/condition';
import { PERIOD_DAYS, narrowestRateLimits } from '../access/hierarchy';
import { parseAllowlistEntry, type IpRange } from '../access/ip';
import { lowestPermission } from '../access/permission';
import type { AccessWindow } from '../access/window';

// Loads what verification needs about a key: the key and its ancestor chain, with scope
// membership resolved, in two indexed reads. The verify cache keeps the result.

const snapshotSelect = {
  id: true,
  accountId: true,
  type: true,
  master: true,
  status: true,
  expiresAt: true,
  graceEndsAt: true,
  permission: true,
  scopeKind: true,
  scopeAgentId: true,
  scopeGroup: { select: { agents: { select: { id: true } } } },
  scopeWorkflows: { select: { id: true, agents: { select: { id: true } } } },
  ipAllowlist: true,
  ancestorIds: true,
  parentId: true,
  accessWindows: true,
  allowedCountries: true,
  condition: true,
  metadata: true,
  rateLimits: true,
  quota: true,
  bandwidth: true,
  maxConcurrent: true,
} satisfies Prisma.ApiKeySelect;

type SnapshotRow = Prisma.ApiKeyGetPayload<{ select: typeof snapshotSelect }>;

export interface ResolvedKey extends KeySnapshot {
  ancestorIds: string[];
  /** Lowest permission along the chain. */
  effectivePermission: ChainLink['permission'];
  scopeKind: SnapshotRow['scopeKind'];
  scopeAgentId: string | null;
  scopeGroupAgentIds: string[];
  scopeWorkflowIds: string[];
  expiresAt: Date | null;
  /** Ids of every key in the chain: any change to one of them drops the cached entry. */
  chainIds: string[];
  /** The narrowest limits along the chain; counted per key. */
  limits: {
    rateLimits: { window: 'MINUTE' | 'HOUR' | 'DAY'; limit: number }[];
    quota: { units: number; period: 'DAY' | 'MONTH' } | null;
    bandwidth: { bytes: number; period: 'DAY' | 'MONTH' } | null;
    maxConcurrent: number | null;
  };
  /** A link restricts countries or has a condition: the request's country must be looked up. */
  needsCountry: boolean;
  /** Allowlist hostnames anywhere in the chain (resolved ahead of use). */
  hostnames: string[];
}

/** A stored condition that no longer compiles denies (fail closed) rather than being skipped. */
const DENY_ALL: CompiledCondition = Object.freeze({
  expression: 'false',
  resultType: 'bool',
  run: () => false,
});

function compiled(expr: string | null): CompiledCondition | null {
  if (!expr) return null;
  try {
    return compileCondition(expr);
  } catch {
    return DENY_ALL;
  }
}

type Amount<K extends string> = ({ period: 'DAY' | 'MONTH' } & Record<K, number>) | null;
function smallest<K extends 'units' | 'bytes'>(field: K, amounts: Amount<K>[]): Amount<K> {
  let best: Amount<K> = null;
  for (const a of amounts) {
    if (!a) continue;
    if (!best || a[field] / PERIOD_DAYS[a.period] < best[field] / PERIOD_DAYS[best.period]) best = a;
  }
  return best;
}

// The verify cache holds up to 10,000 of these: lists that are empty (most of them, for most
// keys) share one frozen empty array instead of one each, and scope sets exist only for the
// scopes that consult them.
const NONE = Object.freeze([]) as never[];
function orNone<T>(list: T[]): T[] {
  return list.length === 0 ? NONE : list;
}

function ranges(list: string[]): { ranges: IpRange[]; hosts: string[] } {
  const out: IpRange[] = [];
  const hosts: string[] = [];
  for (const entry of list) {
    const p = parseAllowlistEntry(entry);
    if (p.ok) out.push(p.range);
    else hosts.push(entry);
  }
  return { ranges: orNone(out), hosts: orNone(hosts) };
}

function toLink(r: SnapshotRow): ChainLink {
  const allowlist = ranges(r.ipAllowlist);
  return {
    id: r.id,
    status: r.status,
    expiresAt: r.expiresAt ? r.expiresAt.getTime() : null,
    graceEndsAt: r.graceEndsAt ? r.graceEndsAt.getTime() : null,
    permission: r.permission,
    scope: {
      kind: r.scopeKind,
      agentId: r.scopeAgentId,
      agentIds: r.scopeKind === 'AGENT_GROUP' ? new Set(r.scopeGroup?.agents.map((a) => a.id) ?? []) : r.scopeKind === 'WORKFLOW' ? new Set(r.scopeWorkflows.flatMap((w) => w.agents.map((a) => a.id))) : undefined,
      workflowIds: r.scopeKind === 'WORKFLOW' ? new Set(r.scopeWorkflows.map((w) => w.id)) : undefined,
    },
    ipRanges: allowlist.ranges,
    ipHosts: allowlist.hosts,
    accessWindows: orNone((r.accessWindows ?? []) as unknown as AccessWindow[]),
    allowedCountries: orNone(r.allowedCountries),
    condition: compiled(r.condition),
  };
}

export async function resolveKeyByDigest(db: Tx, digest: string): Promise<ResolvedKey | null> {
  const row = await db.apiKey.findUnique({ where: { digest }, select: snapshotSelect });
  if (!row) return null;
  return resolveChain(db, row);
}

export async function resolveKeyById(db: Tx, id: string): Promise<ResolvedKey | null> {
  const row = await db.apiKey.findUnique({ where: { id }, select: snapshotSelect });
  if (!row) return null;
  return resolveChain(db, row);
}

async function resolveChain(db: Tx, row: SnapshotRow): Promise<ResolvedKey> {
  const ancestors = row.ancestorIds.length ? await db.apiKey.findMany({ where: { id: { in: row.ancestorIds }, accountId: row.accountId }, select: snapshotSelect }) : [];
  const byId = new Map(ancestors.map((a) => [a.id, a]));
  // Nearest ancestor first. A missing ancestor cannot happen with the foreign keys in place;
  // if it ever did, the chain would be treated as revoked.
  const chainRows = [row, ...[...row.ancestorIds].reverse().map((id) => byId.get(id))];
  const chain: ChainLink[] = chainRows.map((r, i) =>
    r ? toLink(r) : { id: row.ancestorIds[row.ancestorIds.length - i], status: 'REVOKED', expiresAt: null, graceEndsAt: null, permission: 'READ_ONLY', scope: { kind: 'ALL_AGENTS' }, ipRanges: [] },
  );
  return {
    id: row.id,
    accountId: row.accountId,
    type: row.type,
    master: row.master,
    chain,
    ancestorIds: orNone(row.ancestorIds),
    effectivePermission: lowestPermission(chain.map((l) => l.permission)),
    scopeKind: row.scopeKind,
    scopeAgentId: row.scopeAgentId,
    scopeGroupAgentIds: orNone(row.scopeGroup?.agents.map((a) => a.id) ?? []),
    scopeWorkflowIds: orNone(row.scopeWorkflows.map((w) => w.id)),
    expiresAt: chain.reduce<Date | null>((min, l) => (l.expiresAt !== null && (min === null || l.expiresAt < min.getTime()) ? new Date(l.expiresAt) : min), null),
    chainIds: chain.map((l) => l.id),
    metadata: (row.metadata ?? null) as Record<string, unknown> | null,
    limits: {
      rateLimits: narrowestRateLimits(...chainRows.map((r) => (r?.rateLimits ?? []) as { window: string; limit: number }[])) as ResolvedKey['limits']['rateLimits'],
      quota: smallest(
        'units',
        chainRows.map((r) => (r?.quota ?? null) as Amount<'units'>),
      ),
      bandwidth: smallest(
        'bytes',
        chainRows.map((r) => (r?.bandwidth ?? null) as Amount<'bytes'>),
      ),
      maxConcurrent: chainRows.reduce<number | null>((min, r) => (r?.maxConcurrent != null && (min === null || r.maxConcurrent < min) ? r.maxConcurrent : min), null),
    },
    needsCountry: chain.some((l) => (l.allowedCountries?.length ?? 0) > 0 || !!l.condition),
    hostnames: orNone([...new Set(chain.flatMap((l) => l.ipHosts ?? []))]),
  };
}
