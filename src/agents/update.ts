import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { appendAudit } from '../audit/chain';
import { notFound } from '../infra/errors';
import { isUuid, normalizeName } from '../infra/validation';
import { announceKeyChanges } from '../keys/events';
import { assertAgentsExist, conflictOnDuplicateName, normalizeUpstreamUrl, requireMaster } from './directory';
import { announceTargetChanges } from './invalidation';

// Changing agents, agent groups and workflows: only what the input names (a field left out stays),
// with the create checks, in one transaction with its audit event. After the commit, every
// instance hears of it at once: a new upstream drops the gateway's cached upstream, new members
// drop the cached keys scoped to the group or workflow (their scope holds the members).

export interface UpdateAgentInput {
  name?: string | null;
  /** null or "": no upstream. */
  upstreamUrl?: string | null;
}
export interface UpdateAgentGroupInput {
  name?: string | null;
  /** The group's members from now on. */
  agentIds?: string[] | null;
}
export interface UpdateWorkflowInput extends UpdateAgentInput {
  /** The workflow's agents from now on. */
  agentIds?: string[] | null;
}

/** Where the row to change is: its id in the actor's account (another account's id answers NOT_FOUND, as an unknown one). */
function owned(actor: Actor, kind: string, id: string) {
  if (!isUuid(id)) throw notFound(kind, id);
  return { where: { id: id.toLowerCase(), accountId: actor.accountId } };
}

function found<T>(row: T | null, kind: string, id: string): T {
  if (!row) throw notFound(kind, id);
  return row;
}

const withMembers = { include: { agents: { select: { id: true } } } } as const;

/** The input's changes, checked before anything is read or written (the field named on error). */
async function normalizeChanges(input: UpdateWorkflowInput) {
  return {
    name: input.name !== undefined ? normalizeName('input.name', input.name) : undefined,
    upstreamUrl: input.upstreamUrl !== undefined ? await normalizeUpstreamUrl('input.upstreamUrl', input.upstreamUrl) : undefined,
  };
}

const sameMembers = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id) => b.includes(id));

function audit(tx: Tx, actor: Actor, action: string, targetType: string, targetId: string, before: unknown, after: unknown) {
  return appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, actorOperatorId: actor.operatorId, action, targetType, targetId, ip: actor.ip, before, after });
}

/** Ids of the keys scoped to this group or workflow (their cached resolutions hold its members). */
async function keysScopedTo(tx: Tx, where: { scopeGroupId: string } | { scopeWorkflows: { some: { id: string } } }): Promise<string[]> {
  return (await tx.apiKey.findMany({ where, select: { id: true } })).map((k) => k.id);
}

export async function updateAgent(db: Database, actor: Actor, id: string, input: UpdateAgentInput) {
  requireMaster(actor, 'change agents');
  const where = owned(actor, 'agent', id);
  const changes = await normalizeChanges(input);
  const agent = await db.prisma
    .$transaction(async (tx) => {
      const before = found(await tx.agent.findFirst(where), 'agent', id);
      const after = await tx.agent.update({ where: { id: before.id }, data: changes });
      await audit(tx, actor, 'agent.update', 'Agent', after.id, before, after);
      return { before, after };
    })
    .catch(conflictOnDuplicateName('an agent', changes.name ?? ''));
  if (agent.before.upstreamUrl !== agent.after.upstreamUrl) announceTargetChanges([`agent:${agent.after.id}`]);
  return agent.after;
}

export async function updateAgentGroup(db: Database, actor: Actor, id: string, input: UpdateAgentGroupInput) {
  requireMaster(actor, 'change agent groups');
  const where = owned(actor, 'agent group', id);
  const name = input.name !== undefined ? normalizeName('input.name', input.name) : undefined;
  const done = await db.prisma
    .$transaction(async (tx) => {
      const before = found(await tx.agentGroup.findFirst({ ...where, ...withMembers }), 'agent group', id);
      const beforeIds = before.agents.map((a) => a.id);
      const agentIds = input.agentIds != null ? await assertAgentsExist(tx, actor.accountId, 'input.agentIds', input.agentIds) : beforeIds;
      const after = await tx.agentGroup.update({ where: { id: before.id }, data: { name, agents: { set: agentIds.map((a) => ({ id: a })) } } });
      await audit(tx, actor, 'agentGroup.update', 'AgentGroup', after.id, { ...before, agents: undefined, agentIds: beforeIds }, { ...after, agentIds });
      const membersChanged = !sameMembers(beforeIds, agentIds);
      return { after, stale: membersChanged ? await keysScopedTo(tx, { scopeGroupId: after.id }) : [] };
    })
    .catch(conflictOnDuplicateName('an agent group', name ?? ''));
  announceKeyChanges(done.stale);
  return done.after;
}

export async function updateWorkflow(db: Database, actor: Actor, id: string, input: UpdateWorkflowInput) {
  requireMaster(actor, 'change workflows');
  const where = owned(actor, 'workflow', id);
  const changes = await normalizeChanges(input);
  const done = await db.prisma
    .$transaction(async (tx) => {
      const before = found(await tx.workflow.findFirst({ ...where, ...withMembers }), 'workflow', id);
      const beforeIds = before.agents.map((a) => a.id);
      const agentIds = input.agentIds != null ? await assertAgentsExist(tx, actor.accountId, 'input.agentIds', input.agentIds) : beforeIds;
      const after = await tx.workflow.update({ where: { id: before.id }, data: { ...changes, agents: { set: agentIds.map((a) => ({ id: a })) } } });
      await audit(tx, actor, 'workflow.update', 'Workflow', after.id, { ...before, agents: undefined, agentIds: beforeIds }, { ...after, agentIds });
      const membersChanged = !sameMembers(beforeIds, agentIds);
      return { before, after, stale: membersChanged ? await keysScopedTo(tx, { scopeWorkflows: { some: { id: after.id } } }) : [] };
    })
    .catch(conflictOnDuplicateName('a workflow', changes.name ?? ''));
  if (done.before.upstreamUrl !== done.after.upstreamUrl) announceTargetChanges([`workflow:${done.after.id}`]);
  announceKeyChanges(done.stale);
  return done.after;
}
