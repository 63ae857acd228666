import type { StoredKey } from './stored';

/** A key as the audit log, webhooks and exports see it: every setting, never the digest. */
export function keySettingsView(k: StoredKey) {
  return {
    id: k.id,
    name: k.name,
    start: k.start,
    type: k.type,
    master: k.master,
    permission: k.permission,
    identityId: k.identityId,
    permissions: k.permissions,
    roleIds: k.roles.map((r) => r.id),
    scope: {
      kind: k.scopeKind,
      agentId: k.scopeAgentId,
      groupId: k.scopeGroupId,
      workflowIds: k.scopeWorkflows.map((w) => w.id),
    },
    status: k.status,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    revokedReason: k.revokedReason,
    graceEndsAt: k.graceEndsAt,
    rotationDueAt: k.rotationDueAt,
    rotationPeriodDays: k.rotationPeriodDays,
    ipAllowlist: k.ipAllowlist,
    rateLimits: k.rateLimits,
    quota: k.quota,
    bandwidth: k.bandwidth,
    maxConcurrent: k.maxConcurrent,
    accessWindows: k.accessWindows,
    allowedCountries: k.allowedCountries,
    condition: k.condition,
    metadata: k.metadata,
    parentId: k.parentId,
    predecessorId: k.predecessorId,
  };
}
