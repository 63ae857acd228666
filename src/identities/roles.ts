import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { normalizePermissionStrings } from '../access/permission-strings';
import { appendAudit } from '../audit/chain';
import { KeywardenError, forbidden, notFound } from '../infra/errors';
import { isUuid, normalizeName } from '../infra/validation';
import { announceWithSubtrees } from '../keys/update';

// Roles: named sets of permission strings that keys hold. A key's effective strings are its own
// plus its roles', so a change to a role (or its deletion) changes every key holding it and the
// keys derived from them: every instance drops them from its cache at once.

export interface RoleInput {
  name?: string | null;
  description?: string | null;
  permissions?: string[] | null;
}

type RoleRow = Prisma.RoleGetPayload<object>;

function requireMaster(actor: Actor, what: string): void {
  if (!actor.master) throw forbidden(`only a master key can ${what}`);
}

function roleChanges(input: RoleInput, creating: boolean): { name?: string; description?: string | null; permissions?: string[] } {
  const out: { name?: string; description?: string | null; permissions?: string[] } = {};
  if (creating || input.name !== undefined) out.name = normalizeName('input.name', input.name);
  if (input.description !== undefined) out.description = input.description?.trim() || null;
  if (out.description && out.description.length > 1000) throw new KeywardenError('BAD_USER_INPUT', 'input.description: must be at most 1000 characters', 'input.description');
  if (creating || input.permissions !== undefined) out.permissions = normalizePermissionStrings('input.permissions', input.permissions ?? []);
  return out;
}

function conflictOnDuplicate(name: unknown) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === 'P2002') throw new KeywardenError('CONFLICT', `input.name: a role named "${String(name).trim()}" already exists in this account`, 'input.name');
    throw err;
  };
}

const view = (r: RoleRow) => ({ id: r.id, name: r.name, description: r.description, permissions: r.permissions });

async function audit(tx: Tx, actor: Actor, action: string, id: string, before: RoleRow | null, after: RoleRow | null): Promise<void> {
  await appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, action, targetType: 'Role', targetId: id, ip: actor.ip, before: before && view(before), after: after && view(after) });
}

async function loadRole(tx: Tx, accountId: string, id: string): Promise<RoleRow> {
  const row = isUuid(id) ? await tx.role.findFirst({ where: { id: id.toLowerCase(), accountId } }) : null;
  if (!row) throw notFound('role', id);
  return row;
}

async function holders(tx: Tx, roleId: string): Promise<string[]> {
  const keys = await tx.apiKey.findMany({ where: { roles: { some: { id: roleId } } }, select: { id: true } });
  return keys.map((k) => k.id);
}

export async function createRole(db: Database, actor: Actor, input: RoleInput): Promise<RoleRow> {
  requireMaster(actor, 'create roles');
  const data = roleChanges(input, true) as { name: string; permissions: string[]; description?: string | null };
  return db.prisma
    .$transaction(async (tx) => {
      const row = await tx.role.create({ data: { ...data, accountId: actor.accountId } });
      await audit(tx, actor, 'role.create', row.id, null, row);
      return row;
    })
    .catch(conflictOnDuplicate(input.name));
}

export async function updateRole(db: Database, actor: Actor, id: string, input: RoleInput): Promise<RoleRow> {
  requireMaster(actor, 'change roles');
  const data = roleChanges(input, false);
  const { row, keyIds } = await db.prisma
    .$transaction(async (tx) => {
      const before = await loadRole(tx, actor.accountId, id);
      const after = await tx.role.update({ where: { id: before.id }, data });
      await audit(tx, actor, 'role.update', before.id, before, after);
      return { row: after, keyIds: await holders(tx, before.id) };
    })
    .catch(conflictOnDuplicate(input.name));
  await announceWithSubtrees(db, keyIds);
  return row;
}

/** Keys holding the role lose its permissions at once (on every instance). */
export async function deleteRole(db: Database, actor: Actor, id: string): Promise<boolean> {
  requireMaster(actor, 'delete roles');
  const keyIds = await db.prisma.$transaction(async (tx) => {
    const row = await loadRole(tx, actor.accountId, id);
    const held = await holders(tx, row.id);
    await tx.role.delete({ where: { id: row.id } });
    await audit(tx, actor, 'role.delete', row.id, row, null);
    return held;
  });
  await announceWithSubtrees(db, keyIds);
  return true;
}
