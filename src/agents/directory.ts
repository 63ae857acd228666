import type { Database, Tx } from '../infra/db';
import { appendAudit } from '../audit/chain';
import type { Actor } from '../access/admin';
import { KeywardenError, badInput, forbidden } from '../infra/errors';
import { isUuid, normalizeName } from '../infra/validation';
import { upstreamRefusal } from './upstream-policy';

// Agents, agent groups and workflows: what keys are scoped to and what the gateway proxies to.

/** An upstreamUrl as stored, after the upstream address policy (see upstream-policy). */
export async function normalizeUpstreamUrl(field: string, url: string | null | undefined): Promise<string | null> {
  if (url === undefined || url === null || url.trim() === '') return null;
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw badInput(field, `"${url}" is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badInput(field, 'must be an http or https URL');
  if (u.username || u.password) throw badInput(field, 'must not carry credentials');
  const refused = await upstreamRefusal(u);
  if (refused) throw badInput(field, `the gateway may not send requests there: ${refused}`);
  return u.toString();
}

export async function assertAgentsExist(tx: Tx, accountId: string, field: string, ids: string[]): Promise<string[]> {
  ids.forEach((id, i) => {
    if (!isUuid(id)) throw badInput(`${field}[${i}]`, `"${id}" is not a valid id`);
  });
  const unique = [...new Set(ids.map((i) => i.toLowerCase()))];
  const found = await tx.agent.findMany({ where: { id: { in: unique }, accountId }, select: { id: true } });
  const have = new Set(found.map((a) => a.id));
  const i = ids.findIndex((id) => !have.has(id.toLowerCase()));
  if (i >= 0) throw badInput(`${field}[${i}]`, `no agent with id ${ids[i]} in this account`);
  return unique;
}

export function requireMaster(actor: Actor, what: string): void {
  if (!actor.master) throw forbidden(`only a master key can ${what}`);
}

export function conflictOnDuplicateName(what: string, name: string) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === 'P2002') throw new KeywardenError('CONFLICT', `${what} named "${name}" already exists in this account`);
    throw err;
  };
}

export async function createAgent(db: Database, actor: Actor, input: { name: string; upstreamUrl?: string | null }) {
  requireMaster(actor, 'create agents');
  const name = normalizeName('input.name', input.name);
  const upstreamUrl = await normalizeUpstreamUrl('input.upstreamUrl', input.upstreamUrl);
  return db.prisma
    .$transaction(async (tx) => {
      const agent = await tx.agent.create({ data: { accountId: actor.accountId, name, upstreamUrl } });
      await appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, actorOperatorId: actor.operatorId, action: 'agent.create', targetType: 'Agent', targetId: agent.id, ip: actor.ip, after: agent });
      return agent;
    })
    .catch(conflictOnDuplicateName('an agent', name));
}

export async function createAgentGroup(db: Database, actor: Actor, input: { name: string; agentIds: string[] }) {
  requireMaster(actor, 'create agent groups');
  const name = normalizeName('input.name', input.name);
  return db.prisma
    .$transaction(async (tx) => {
      const agentIds = await assertAgentsExist(tx, actor.accountId, 'input.agentIds', input.agentIds ?? []);
      const group = await tx.agentGroup.create({
        data: { accountId: actor.accountId, name, agents: { connect: agentIds.map((id) => ({ id })) } },
      });
      await appendAudit(tx, {
        accountId: actor.accountId,
        actorKeyId: actor.keyId,
        actorOperatorId: actor.operatorId,
        action: 'agentGroup.create',
        targetType: 'AgentGroup',
        targetId: group.id,
        ip: actor.ip,
        after: { ...group, agentIds },
      });
      return group;
    })
    .catch(conflictOnDuplicateName('an agent group', name));
}

export async function createWorkflow(db: Database, actor: Actor, input: { name: string; agentIds?: string[] | null; upstreamUrl?: string | null }) {
  requireMaster(actor, 'create workflows');
  const name = normalizeName('input.name', input.name);
  const upstreamUrl = await normalizeUpstreamUrl('input.upstreamUrl', input.upstreamUrl);
  return db.prisma
    .$transaction(async (tx) => {
      const agentIds = await assertAgentsExist(tx, actor.accountId, 'input.agentIds', input.agentIds ?? []);
      const workflow = await tx.workflow.create({
        data: { accountId: actor.accountId, name, upstreamUrl, agents: { connect: agentIds.map((id) => ({ id })) } },
      });
      await appendAudit(tx, {
        accountId: actor.accountId,
        actorKeyId: actor.keyId,
        actorOperatorId: actor.operatorId,
        action: 'workflow.create',
        targetType: 'Workflow',
        targetId: workflow.id,
        ip: actor.ip,
        after: { ...workflow, agentIds },
      });
      return workflow;
    })
    .catch(conflictOnDuplicateName('a workflow', name));
}
