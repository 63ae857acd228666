import type { Permission, ScopeKind } from '../generated/prisma/enums';
import type { Database } from '../infra/db';
import { lowestPermission } from '../access/permission';
import { effectiveStatus, isUsable } from '../access/usable';
import { clock } from '../infra/clock';
import { statusWhere } from '../keys/queries';
import { findStoredKeys, type StoredKey } from '../keys/stored';
import { operatorRoster } from './operators';
import { REPORT_BATCH_SIZE, ReportBuilder, assertReportFormat, type Report, type ReportFormat } from './format';
import { IDENTITY_COLUMNS, IdentityNames } from './identity-columns';

// accessReport: which key reaches which agent and workflow, with which permission, after
// inheritance. Like verification (keys/resolve.ts + access/decide.ts), every link of the chain
// must allow a target and the permission is the lowest along it; a key whose chain holds a
// revoked or expired link reaches nothing and is left out. ALL_AGENTS expands to the account's
// agents, groups to their members, WORKFLOW to its workflows and their agents.

const ACCESS_COLUMNS = ['keyId', 'keyName', 'keyStart', 'keyType', ...IDENTITY_COLUMNS, 'master', 'status', 'permission', 'targetType', 'targetId', 'targetName', 'restrictions'] as const;
type Column = (typeof ACCESS_COLUMNS)[number];

interface Directory {
  agents: Map<string, string>;
  groupMembers: Map<string, string[]>;
  workflows: Map<string, { name: string; agentIds: string[] }>;
}

/** null: everything of that kind in the account. */
interface Reach {
  agents: Set<string> | null;
  workflows: Set<string> | null;
}

async function readPaged<T extends { id: string }>(fetch: (cursor: string | undefined) => Promise<T[]>, batchSize: number, each: (rows: T[]) => void | Promise<void>): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const rows = await fetch(cursor);
    if (rows.length > 0) await each(rows);
    if (rows.length < batchSize) return;
    cursor = rows[rows.length - 1].id;
  }
}

const page = (cursor: string | undefined, take: number) => ({ take, ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}) });

async function loadDirectory(db: Database, accountId: string, batchSize: number): Promise<Directory> {
  const p = db.read;
  const dir: Directory = { agents: new Map(), groupMembers: new Map(), workflows: new Map() };
  await readPaged(
    (c) => p.agent.findMany({ where: { accountId }, select: { id: true, name: true }, orderBy: { id: 'asc' }, ...page(c, batchSize) }),
    batchSize,
    (rows) => rows.forEach((a) => dir.agents.set(a.id, a.name)),
  );
  await readPaged(
    (c) => p.agentGroup.findMany({ where: { accountId }, select: { id: true, agents: { select: { id: true } } }, orderBy: { id: 'asc' }, ...page(c, batchSize) }),
    batchSize,
    (rows) =>
      rows.forEach((g) =>
        dir.groupMembers.set(
          g.id,
          g.agents.map((a) => a.id),
        ),
      ),
  );
  await readPaged(
    (c) => p.workflow.findMany({ where: { accountId }, select: { id: true, name: true, agents: { select: { id: true } } }, orderBy: { id: 'asc' }, ...page(c, batchSize) }),
    batchSize,
    (rows) => rows.forEach((w) => dir.workflows.set(w.id, { name: w.name, agentIds: w.agents.map((a) => a.id) })),
  );
  return dir;
}

/** What one link of a chain lets through, as scopeAllows (access/scope.ts) decides it. */
function linkReach(link: { scopeKind: ScopeKind; scopeAgentId: string | null; scopeGroupId: string | null; workflowIds: readonly string[] }, dir: Directory): Reach {
  switch (link.scopeKind) {
    case 'ALL_AGENTS':
      return { agents: null, workflows: null };
    case 'SINGLE_AGENT':
      return { agents: new Set(link.scopeAgentId ? [link.scopeAgentId] : []), workflows: new Set() };
    case 'AGENT_GROUP':
      return { agents: new Set(link.scopeGroupId ? (dir.groupMembers.get(link.scopeGroupId) ?? []) : []), workflows: new Set() };
    case 'WORKFLOW':
      return {
        agents: new Set(link.workflowIds.flatMap((w) => dir.workflows.get(w)?.agentIds ?? [])),
        workflows: new Set(link.workflowIds),
      };
  }
}

function intersect(a: Set<string> | null, b: Set<string> | null): Set<string> | null {
  if (a === null) return b;
  if (b === null) return a;
  return new Set([...a].filter((x) => b.has(x)));
}

/** Restrictions besides scope that apply anywhere along the chain (the report cannot evaluate them). */
function restrictionsOf(chain: readonly StoredKey[]): string {
  const kinds = new Set<string>();
  for (const l of chain) {
    if (l.ipAllowlist.length > 0) kinds.add('ip');
    if (l.accessWindows.length > 0) kinds.add('accessWindow');
    if (l.allowedCountries.length > 0) kinds.add('country');
    if (l.condition) kinds.add('condition');
  }
  return ['ip', 'accessWindow', 'country', 'condition'].filter((k) => kinds.has(k)).join(';');
}

// Code-point order, not the locale's: the same report sorts the same on every machine.
const compareText = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
const byName = (names: Map<string, string>) => (a: string, b: string) => compareText(names.get(a) ?? '', names.get(b) ?? '') || compareText(a, b);

/** What every link of the chain lets through together. */
function reachOf(chain: readonly StoredKey[], dir: Directory): Reach {
  let reach: Reach = { agents: null, workflows: null };
  for (const l of chain) {
    const r = linkReach({ ...l, workflowIds: l.scopeWorkflows.map((w) => w.id) }, dir);
    reach = { agents: intersect(reach.agents, r.agents), workflows: intersect(reach.workflows, r.workflows) };
  }
  return reach;
}

/** The key and its ancestors; null when one is missing or no longer usable, which stops the whole chain as verification treats it. */
function liveChain(key: StoredKey, links: ReadonlyMap<string, StoredKey>, nowMs: number): StoredKey[] | null {
  const chain = [key];
  for (const id of key.ancestorIds) {
    const a = links.get(id);
    if (!a || !isUsable(a, nowMs)) return null;
    chain.push(a);
  }
  return chain;
}

export async function accessReport(db: Database, accountId: string, format: ReportFormat, opts: { batchSize?: number } = {}): Promise<Report> {
  const batchSize = opts.batchSize ?? REPORT_BATCH_SIZE;
  const now = clock.now();
  const report = new ReportBuilder<Column>(assertReportFormat(format), ACCESS_COLUMNS);
  const dir = await loadDirectory(db, accountId, batchSize);
  const allAgents = [...dir.agents.keys()].sort(byName(dir.agents));
  const workflowNames = new Map([...dir.workflows].map(([id, w]) => [id, w.name]));
  const allWorkflows = [...dir.workflows.keys()].sort(byName(workflowNames));
  // Keys of earlier pages stay known: they are the ancestors of later ones.
  const links = new Map<string, StoredKey>();
  const identities = new IdentityNames(db, accountId);
  const addRows = (key: StoredKey, chain: readonly StoredKey[]) => {
    const reach = reachOf(chain, dir);
    const permission: Permission = lowestPermission(chain.map((l) => l.permission));
    const base = {
      keyId: key.id,
      keyName: key.name,
      keyStart: key.start,
      keyType: key.type,
      ...identities.columns(key.identityId),
      master: key.master,
      status: effectiveStatus(key, now.getTime()),
      permission,
      restrictions: restrictionsOf(chain),
    };
    const agents = reach.agents === null ? allAgents : allAgents.filter((a) => reach.agents!.has(a));
    const workflows = reach.workflows === null ? allWorkflows : allWorkflows.filter((w) => reach.workflows!.has(w));
    for (const a of agents) report.add({ ...base, targetType: 'AGENT', targetId: a, targetName: dir.agents.get(a) ?? '' });
    for (const w of workflows) report.add({ ...base, targetType: 'WORKFLOW', targetId: w, targetName: workflowNames.get(w) ?? '' });
  };

  await readPaged(
    (c) => findStoredKeys(db.read, { where: { accountId, OR: [statusWhere('ACTIVE', now), statusWhere('ROTATING', now)] }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], ...page(c, batchSize) }),
    batchSize,
    async (keys) => {
      for (const k of keys) links.set(k.id, k);
      const missing = [...new Set(keys.flatMap((k) => k.ancestorIds))].filter((id) => !links.has(id));
      if (missing.length > 0) for (const a of await findStoredKeys(db.read, { where: { accountId, id: { in: missing } } })) links.set(a.id, a);
      await identities.learn(keys.map((k) => k.identityId));
      for (const key of keys) {
        const chain = liveChain(key, links, now.getTime());
        if (chain) addRows(key, chain);
      }
    },
  );
  // The people with access to the admin API, beside the keys (JSON; CSV holds the key table alone).
  return report.finish({ report: 'access', accountId, operators: await operatorRoster(db, accountId) });
}
