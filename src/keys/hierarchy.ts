import type { Prisma } from '../generated/prisma/client';
import type { Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { findEscalations, type HierarchySettings } from '../access/hierarchy';
import { recordSecurityEvent } from '../audit/security';
import { KeywardenError } from '../infra/errors';

// Loads a key's ancestor chain as hierarchy settings and enforces "a child only narrows".

export const hierarchySelect = {
  id: true,
  accountId: true,
  status: true,
  permission: true,
  expiresAt: true,
  graceEndsAt: true,
  scopeKind: true,
  scopeAgentId: true,
  scopeGroupId: true,
  scopeGroup: { select: { agents: { select: { id: true } } } },
  scopeWorkflows: { select: { id: true, agents: { select: { id: true } } } },
  ipAllowlist: true,
  rateLimits: true,
  quota: true,
  bandwidth: true,
  maxConcurrent: true,
  accessWindows: true,
  allowedCountries: true,
  ancestorIds: true,
} satisfies Prisma.ApiKeySelect;

export type HierarchyRow = Prisma.ApiKeyGetPayload<{ select: typeof hierarchySelect }>;

type AmountJson = { units?: number; bytes?: number; period: 'DAY' | 'MONTH' } | null | undefined;

/** A stored quota ({units, period}) or bandwidth ({bytes, period}) as a comparable amount. */
export function amountOf(stored: unknown) {
  const v = stored as AmountJson;
  return v ? { amount: (v.units ?? v.bytes)!, period: v.period } : null;
}

export function toHierarchySettings(r: HierarchyRow): HierarchySettings {
  return {
    permission: r.permission,
    expiresAt: r.expiresAt ? r.expiresAt.getTime() : null,
    scope: {
      kind: r.scopeKind,
      agentId: r.scopeAgentId,
      groupId: r.scopeGroupId,
      groupAgentIds: r.scopeGroup?.agents.map((a) => a.id) ?? [],
      workflowIds: r.scopeWorkflows.map((w) => w.id),
      workflowAgentIds: r.scopeWorkflows.flatMap((w) => w.agents.map((a) => a.id)),
    },
    ipAllowlist: r.ipAllowlist,
    rateLimits: (r.rateLimits ?? []) as { window: string; limit: number }[],
    quota: amountOf(r.quota),
    bandwidth: amountOf(r.bandwidth),
    maxConcurrent: r.maxConcurrent,
    accessWindows: (r.accessWindows ?? []) as unknown[],
    allowedCountries: r.allowedCountries,
  };
}

/** The key with this id and every ancestor, nearest first. */
export async function loadChainRows(tx: Tx, key: { id: string; ancestorIds: string[] }): Promise<HierarchyRow[]> {
  const ids = [key.id, ...key.ancestorIds];
  const rows = await tx.apiKey.findMany({ where: { id: { in: ids } }, select: hierarchySelect });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return [key.id, ...[...key.ancestorIds].reverse()].map((id) => byId.get(id)!).filter(Boolean);
}

export class EscalationError extends KeywardenError {
  constructor(readonly escalations: { field: string; message: string }[]) {
    super('EXCEEDS_PARENT', `exceeds the parent key: ${escalations.map((e) => `${e.field} ${e.message}`).join('; ')}`, escalations[0]?.field);
  }
}

/** Throws EscalationError when `settings` reach beyond any key of `ancestors`. */
export function assertWithinAncestors(settings: HierarchySettings, ancestors: HierarchyRow[]): void {
  const escalations = findEscalations(settings, ancestors.map(toHierarchySettings));
  if (escalations.length > 0) throw new EscalationError(escalations);
}

/**
 * Runs `work`; when it fails with EXCEEDS_PARENT, records a PRIVILEGE_ESCALATION security event
 * (in its own transaction: the refused change itself wrote nothing) and rethrows.
 */
export async function reportingEscalations<T>(db: { $transaction: <R>(fn: (tx: Tx) => Promise<R>) => Promise<R> }, actor: Actor, target: { keyId?: string; action: string }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof EscalationError) {
      await db.$transaction((tx) =>
        recordSecurityEvent(tx, {
          accountId: actor.accountId,
          kind: 'PRIVILEGE_ESCALATION',
          keyId: target.keyId ?? null,
          ip: actor.ip,
          details: { action: target.action, actorKeyId: actor.keyId, escalations: err.escalations },
        }),
      );
    }
    throw err;
  }
}
