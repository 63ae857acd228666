import type { Prisma } from '../generated/prisma/client';
import type { Tx } from '../infra/db';
import { badInput } from '../infra/errors';
import type { ScopeSettings } from '../access/key-settings';
import type { ScopeRule } from '../access/scope';
import type { ScopeInput } from './settings';
import type { StoredKey } from './stored';

// A key's scope: checked against the account's agents, groups and workflows when it is set, and
// read back from a stored key for the hierarchy rules (lists) and for verification (sets).

/** Checks the scope's targets exist in the account and resolves their membership. */
export async function resolveScope(tx: Tx, accountId: string, scope: ScopeInput): Promise<ScopeSettings> {
  if (scope.kind === 'SINGLE_AGENT') {
    const n = await tx.agent.count({ where: { id: scope.agentId!, accountId } });
    if (n === 0) throw badInput('input.scope.agentId', `no agent with id ${scope.agentId} in this account`);
    return { kind: 'SINGLE_AGENT', agentId: scope.agentId };
  }
  if (scope.kind === 'AGENT_GROUP') {
    const group = await tx.agentGroup.findFirst({ where: { id: scope.groupId!, accountId }, select: { agents: { select: { id: true } } } });
    if (!group) throw badInput('input.scope.groupId', `no agent group with id ${scope.groupId} in this account`);
    return { kind: 'AGENT_GROUP', groupId: scope.groupId, groupAgentIds: group.agents.map((a) => a.id) };
  }
  if (scope.kind === 'WORKFLOW') {
    const ids = scope.workflowIds!;
    const found = await tx.workflow.findMany({ where: { id: { in: ids }, accountId }, select: { id: true, agents: { select: { id: true } } } });
    const have = new Set(found.map((w) => w.id));
    const i = ids.findIndex((id) => !have.has(id));
    if (i >= 0) throw badInput(`input.scope.workflowIds[${i}]`, `no workflow with id ${ids[i]} in this account`);
    return { kind: 'WORKFLOW', workflowIds: ids, workflowAgentIds: found.flatMap((w) => w.agents.map((a) => a.id)) };
  }
  return { kind: 'ALL_AGENTS' };
}

/** The scope columns and relations of a new key. */
export function scopeCreateData(scope: ScopeSettings): Pick<Prisma.ApiKeyCreateInput, 'scopeKind' | 'scopeAgent' | 'scopeGroup' | 'scopeWorkflows'> {
  return {
    scopeKind: scope.kind,
    scopeAgent: scope.agentId ? { connect: { id: scope.agentId } } : undefined,
    scopeGroup: scope.groupId ? { connect: { id: scope.groupId } } : undefined,
    scopeWorkflows: { connect: (scope.workflowIds ?? []).map((id) => ({ id })) },
  };
}

/** The scope columns and relations of a changed key (replacing the old ones). */
export function scopeUpdateData(scope: ScopeSettings): Prisma.ApiKeyUpdateInput {
  return {
    scopeKind: scope.kind,
    scopeAgent: scope.agentId ? { connect: { id: scope.agentId } } : { disconnect: true },
    scopeGroup: scope.groupId ? { connect: { id: scope.groupId } } : { disconnect: true },
    scopeWorkflows: { set: (scope.workflowIds ?? []).map((id) => ({ id })) },
  };
}

/** The agents of the groups and workflows some keys are scoped to. */
export interface ScopeMembers {
  groups: ReadonlyMap<string, string[]>;
  workflows: ReadonlyMap<string, string[]>;
}

/** Members for `keys`' AGENT_GROUP and WORKFLOW scopes, in one read per kind and none when no key has such a scope. */
export async function loadScopeMembers(tx: Tx, keys: readonly StoredKey[]): Promise<ScopeMembers> {
  const groupIds = [...new Set(keys.flatMap((k) => (k.scopeKind === 'AGENT_GROUP' && k.scopeGroupId ? [k.scopeGroupId] : [])))];
  const workflowIds = [...new Set(keys.flatMap((k) => (k.scopeKind === 'WORKFLOW' ? k.scopeWorkflows.map((w) => w.id) : [])))];
  const members = { select: { id: true, agents: { select: { id: true } } } } as const;
  const groups = groupIds.length ? await tx.agentGroup.findMany({ where: { id: { in: groupIds } }, ...members }) : [];
  const workflows = workflowIds.length ? await tx.workflow.findMany({ where: { id: { in: workflowIds } }, ...members }) : [];
  const byId = (rows: { id: string; agents: { id: string }[] }[]) => new Map(rows.map((r) => [r.id, r.agents.map((a) => a.id)]));
  return { groups: byId(groups), workflows: byId(workflows) };
}

const groupAgents = (k: StoredKey, m: ScopeMembers) => (k.scopeKind === 'AGENT_GROUP' && k.scopeGroupId ? (m.groups.get(k.scopeGroupId) ?? []) : []);
const workflowAgents = (k: StoredKey, m: ScopeMembers) => (k.scopeKind === 'WORKFLOW' ? k.scopeWorkflows.flatMap((w) => m.workflows.get(w.id) ?? []) : []);

export function scopeSettingsOf(k: StoredKey, members: ScopeMembers): ScopeSettings {
  return {
    kind: k.scopeKind,
    agentId: k.scopeAgentId,
    groupId: k.scopeGroupId,
    groupAgentIds: groupAgents(k, members),
    workflowIds: k.scopeWorkflows.map((w) => w.id),
    workflowAgentIds: workflowAgents(k, members),
  };
}

/** The scope as an input again (a derived key's default is its parent's scope). */
export function scopeInputOf(k: StoredKey): ScopeInput {
  return { kind: k.scopeKind, agentId: k.scopeAgentId, groupId: k.scopeGroupId, workflowIds: k.scopeWorkflows.map((w) => w.id) };
}

/** The scope as verification checks it: member sets only for the kinds that consult them. */
export function scopeRuleOf(k: StoredKey, members: ScopeMembers): ScopeRule {
  return {
    kind: k.scopeKind,
    agentId: k.scopeAgentId,
    agentIds: k.scopeKind === 'AGENT_GROUP' ? new Set(groupAgents(k, members)) : k.scopeKind === 'WORKFLOW' ? new Set(workflowAgents(k, members)) : undefined,
    workflowIds: k.scopeKind === 'WORKFLOW' ? new Set(k.scopeWorkflows.map((w) => w.id)) : undefined,
  };
}
