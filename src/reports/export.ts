import type { Database } from '../infra/db';
import type { Actor } from '../access/admin';
import { clock } from '../infra/clock';
import { forbidden } from '../infra/errors';
import { findStoredKeys } from '../keys/stored';
import { keySettingsView } from '../keys/view';
import { endpointView } from '../webhooks/endpoints';
import { exportIdentitiesAndRoles } from './export-identities';
import { exportedPeople } from './operators';

// exportConfiguration: everything needed to recreate an account's setup elsewhere, and nothing
// secret (no key secrets, no digests, no webhook secrets). Versioned for a later import.

const EXPORT_FORMAT_VERSION = 1;

export async function exportConfiguration(db: Database, actor: Actor) {
  if (!actor.master) throw forbidden('only a master key can export the account configuration');
  const accountId = actor.accountId;
  const [account, agents, groups, workflows, keys, endpoints, identitiesAndRoles] = await Promise.all([
    db.prisma.account.findUniqueOrThrow({ where: { id: accountId }, select: { id: true, name: true, createdAt: true } }),
    db.prisma.agent.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' }, select: { id: true, name: true, upstreamUrl: true, createdAt: true } }),
    db.prisma.agentGroup.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' }, select: { id: true, name: true, agents: { select: { id: true } } } }),
    db.prisma.workflow.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' }, select: { id: true, name: true, upstreamUrl: true, agents: { select: { id: true } } } }),
    findStoredKeys(db.prisma, { where: { accountId }, orderBy: { createdAt: 'asc' } }),
    db.prisma.webhookEndpoint.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' } }),
    exportIdentitiesAndRoles(db, accountId),
  ]);
  return {
    version: EXPORT_FORMAT_VERSION,
    exportedAt: clock.now().toISOString(),
    account,
    agents,
    agentGroups: groups.map((g) => ({ id: g.id, name: g.name, agentIds: g.agents.map((a) => a.id) })),
    workflows: workflows.map((w) => ({ id: w.id, name: w.name, upstreamUrl: w.upstreamUrl, agentIds: w.agents.map((a) => a.id) })),
    ...identitiesAndRoles,
    keys: keys.map((k) => ({ ...keySettingsView(k), createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })),
    webhookEndpoints: endpoints.map(endpointView),
    ...(await exportedPeople(db, accountId)),
  };
}
