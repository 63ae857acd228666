import { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import type { QuotaSetting, RateLimitSetting } from '../access/key-settings';
import { appendAudit } from '../audit/chain';
import { KeywardenError, badInput, forbidden, notFound } from '../infra/errors';
import type { JsonObject } from '../infra/json';
import { isUuid } from '../infra/validation';
import { announceKeyChanges } from '../keys/events';
import { normalizeRestrictions } from '../keys/settings';
import { identitySettings } from '../keys/stored';

// Identities: the customer or system behind several keys (externalId is the caller's own id for
// it). Its rate limits and quota are shared by all of its keys: verification counts them beside
// each key's own, in the same Redis script. A change reaches every cached key of it at once.

export interface IdentityInput {
  externalId?: string | null;
  metadata?: unknown;
  rateLimits?: RateLimitSetting[] | null;
  quota?: QuotaSetting | null;
}

/** An identity as the audit log and exports see it. */
export interface IdentityView {
  id: string;
  externalId: string;
  metadata: JsonObject | null;
  rateLimits: RateLimitSetting[];
  quota: QuotaSetting | null;
  createdAt: Date;
}

type IdentityRow = Prisma.IdentityGetPayload<object>;

export function identityView(row: IdentityRow): IdentityView {
  return { ...identitySettings(row), createdAt: row.createdAt };
}

const MAX_EXTERNAL_ID = 255;

function normalizeExternalId(value: unknown): string {
  const s = typeof value === 'string' ? value.trim() : '';
  if (!s) throw badInput('input.externalId', 'must not be empty');
  if (s.length > MAX_EXTERNAL_ID) throw badInput('input.externalId', `must be at most ${MAX_EXTERNAL_ID} characters`);
  return s;
}

/** The columns an input names (a field left out is left as it is). */
function identityChanges(input: IdentityInput, creating: boolean): Prisma.IdentityUpdateInput {
  const r = normalizeRestrictions({ rateLimits: input.rateLimits, quota: input.quota, metadata: input.metadata }, () => {});
  const out: Prisma.IdentityUpdateInput = {};
  if (creating || input.externalId !== undefined) out.externalId = normalizeExternalId(input.externalId);
  if (r.rateLimits !== undefined) out.rateLimits = r.rateLimits;
  if (r.quota !== undefined) out.quota = r.quota ?? Prisma.DbNull;
  if (r.metadata !== undefined) out.metadata = r.metadata ?? Prisma.DbNull;
  return out;
}

function requireMaster(actor: Actor, what: string): void {
  if (!actor.master) throw forbidden(`only a master key can ${what}`);
}

function conflictOnDuplicate(externalId: unknown) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === 'P2002') {
      throw new KeywardenError('CONFLICT', `input.externalId: an identity with externalId "${String(externalId).trim()}" already exists in this account`, 'input.externalId');
    }
    throw err;
  };
}

async function audit(tx: Tx, actor: Actor, action: string, id: string, before: IdentityView | null, after: IdentityView | null): Promise<void> {
  await appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, action, targetType: 'Identity', targetId: id, ip: actor.ip, before, after });
}

/** An identity of the caller's account, or NOT_FOUND (another account's ids are never visible). */
export async function loadIdentity(tx: Tx, accountId: string, id: string): Promise<IdentityRow> {
  const row = isUuid(id) ? await tx.identity.findFirst({ where: { id: id.toLowerCase(), accountId } }) : null;
  if (!row) throw notFound('identity', id);
  return row;
}

export async function createIdentity(db: Database, actor: Actor, input: IdentityInput): Promise<IdentityRow> {
  requireMaster(actor, 'create identities');
  const data = identityChanges(input, true) as Prisma.IdentityCreateWithoutAccountInput;
  return db.prisma
    .$transaction(async (tx) => {
      const row = await tx.identity.create({ data: { ...data, account: { connect: { id: actor.accountId } } } });
      await audit(tx, actor, 'identity.create', row.id, null, identityView(row));
      return row;
    })
    .catch(conflictOnDuplicate(input.externalId));
}

export async function updateIdentity(db: Database, actor: Actor, id: string, input: IdentityInput): Promise<IdentityRow> {
  requireMaster(actor, 'change identities');
  const data = identityChanges(input, false);
  const row = await db.prisma
    .$transaction(async (tx) => {
      const before = await loadIdentity(tx, actor.accountId, id);
      const after = await tx.identity.update({ where: { id: before.id }, data });
      await audit(tx, actor, 'identity.update', before.id, identityView(before), identityView(after));
      return after;
    })
    .catch(conflictOnDuplicate(input.externalId));
  // Cached keys carry the identity's limits and metadata.
  await announceIdentityKeys(db, row.id);
  return row;
}

/** CONFLICT while the identity has keys that are not revoked; revoked keys let go of it. */
export async function deleteIdentity(db: Database, actor: Actor, id: string): Promise<boolean> {
  requireMaster(actor, 'delete identities');
  await db.prisma.$transaction(async (tx) => {
    const row = await loadIdentity(tx, actor.accountId, id);
    const live = await tx.apiKey.count({ where: { identityId: row.id, status: { not: 'REVOKED' } } });
    if (live > 0) throw new KeywardenError('CONFLICT', `identity ${row.id} still has ${live} key(s) that are not revoked: revoke them or move them to another identity first`, 'id');
    await tx.apiKey.updateMany({ where: { identityId: row.id }, data: { identityId: null } });
    await tx.identity.delete({ where: { id: row.id } });
    await audit(tx, actor, 'identity.delete', row.id, identityView(row), null);
  });
  return true;
}

/** Every instance drops the cached keys of an identity. */
export async function announceIdentityKeys(db: Database, identityId: string): Promise<void> {
  const keys = await db.prisma.apiKey.findMany({ where: { identityId }, select: { id: true } });
  announceKeyChanges(keys.map((k) => k.id));
}
