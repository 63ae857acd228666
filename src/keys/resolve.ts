import type { Tx } from '../infra/db';
import { earliest, narrowestLimits } from '../access/chain';
import { compileOrDeny } from '../access/condition';
import { parseAllowlistEntry, type IpRange } from '../access/ip';
import { lowestPermission } from '../access/permission';
import type { ResolvedIdentity, ResolvedKey, ResolvedLink } from '../access/resolved-key';
import { loadScopeMembers, scopeRuleOf, type ScopeMembers } from './scope';
import { findStoredKey, findStoredKeys, heldPermissions, identitySettings, type StoredKey } from './stored';
import { effectivePermissions } from '../access/permission-strings';

export type { ResolvedKey } from '../access/resolved-key';

// Loads what verification needs about a key: the key and its ancestor chain, with scope
// membership resolved, in two indexed reads. The verify cache keeps the result.

// The verify cache holds up to 10,000 of these: lists that are empty (most of them, for most
// keys) share one frozen empty array instead of one each.
const NONE: never[] = [];
Object.freeze(NONE);
function orNone<T>(list: T[]): T[] {
  return list.length === 0 ? NONE : list;
}

function ranges(list: readonly string[]): { ranges: IpRange[]; hosts: string[] } {
  const out: IpRange[] = [];
  const hosts: string[] = [];
  for (const entry of list) {
    const p = parseAllowlistEntry(entry);
    if (p.ok) out.push(p.range);
    else hosts.push(entry);
  }
  return { ranges: orNone(out), hosts: orNone(hosts) };
}

function toLink(k: StoredKey, members: ScopeMembers): ResolvedLink {
  const allowlist = ranges(k.ipAllowlist);
  return {
    id: k.id,
    status: k.status,
    expiresAt: k.expiresAt ? k.expiresAt.getTime() : null,
    graceEndsAt: k.graceEndsAt ? k.graceEndsAt.getTime() : null,
    permission: k.permission,
    scope: scopeRuleOf(k, members),
    ipRanges: allowlist.ranges,
    ipHosts: allowlist.hosts,
    accessWindows: orNone(k.accessWindows),
    allowedCountries: orNone(k.allowedCountries),
    condition: compileOrDeny(k.condition),
  };
}

/** A missing ancestor cannot happen with the foreign keys in place; if it ever did, the chain would be treated as revoked. */
function missingLink(id: string): ResolvedLink {
  return { id, status: 'REVOKED', expiresAt: null, graceEndsAt: null, permission: 'READ_ONLY', scope: { kind: 'ALL_AGENTS' }, ipRanges: NONE, ipHosts: NONE, accessWindows: NONE, allowedCountries: NONE, condition: null };
}

export async function resolveKeyByDigest(db: Tx, digest: string): Promise<ResolvedKey | null> {
  const key = await findStoredKey(db, { digest });
  return key && resolveChain(db, key);
}

/** The key's identity (one more read, only for keys that have one). */
async function resolveIdentity(db: Tx, key: StoredKey): Promise<ResolvedIdentity | null> {
  if (!key.identityId) return null;
  const row = await db.identity.findUnique({ where: { id: key.identityId } });
  return row && identitySettings(row);
}

async function resolveChain(db: Tx, key: StoredKey): Promise<ResolvedKey> {
  const ancestors = key.ancestorIds.length ? await findStoredKeys(db, { where: { id: { in: key.ancestorIds }, accountId: key.accountId } }) : [];
  const byId = new Map(ancestors.map((a) => [a.id, a]));
  // Nearest ancestor first.
  const chainKeys = [key, ...[...key.ancestorIds].reverse().map((id) => byId.get(id))];
  const present = chainKeys.filter((k): k is StoredKey => k !== undefined);
  const members = await loadScopeMembers(db, present);
  const chain = chainKeys.map((k, i) => (k ? toLink(k, members) : missingLink(key.ancestorIds[key.ancestorIds.length - i])));
  return {
    id: key.id,
    accountId: key.accountId,
    type: key.type,
    master: key.master,
    chain,
    ancestorIds: orNone(key.ancestorIds),
    effectivePermission: lowestPermission(chain.map((l) => l.permission)),
    scopeKind: key.scopeKind,
    scopeAgentId: key.scopeAgentId,
    scopeGroupAgentIds: orNone(key.scopeGroupId ? (members.groups.get(key.scopeGroupId) ?? []) : []),
    scopeWorkflowIds: orNone(key.scopeWorkflows.map((w) => w.id)),
    expiresAt: earliest(present.map((k) => k.expiresAt)),
    chainIds: chain.map((l) => l.id),
    metadata: key.metadata,
    limits: narrowestLimits(present),
    identity: await resolveIdentity(db, key),
    // A missing ancestor grants nothing.
    permissions: orNone(effectivePermissions(chainKeys.map((k) => (k ? heldPermissions(k) : [])))),
    credits: key.creditsRemaining === null ? null : { budget: key.creditsRemaining, epoch: key.creditsEpoch },
    needsCountry: chain.some((l) => l.allowedCountries.length > 0 || !!l.condition),
    hostnames: orNone([...new Set(chain.flatMap((l) => l.ipHosts))]),
  };
}
