import type { Operator } from '../generated/prisma/client';
import type { OperatorRole } from '../generated/prisma/enums';
import type { Actor } from '../access/admin';
import { isOperatorRole, mayManagePeople } from '../access/roles';
import { appendAudit } from '../audit/chain';
import type { Database, Tx } from '../infra/db';
import { badInput, forbidden, KeywardenError, notFound } from '../infra/errors';
import { isUuid, normalizeName } from '../infra/validation';
import { endOperatorSessions } from './sessions';

// Inviting, changing and removing operators: OWNERs and master keys only. An account keeps at
// least one active OWNER once it has one; every change is audited in its own transaction.

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(field: string, email: unknown): string {
  const e = typeof email === 'string' ? email.trim().toLowerCase() : '';
  if (!EMAIL.test(e) || e.length > 254) throw badInput(field, `"${String(email)}" is not an email address`);
  return e;
}

function assertRole(field: string, role: unknown): asserts role is OperatorRole {
  if (!isOperatorRole(role)) throw badInput(field, `must be OWNER, ADMIN or AUDITOR, got "${String(role)}"`);
}

function assertManagesPeople(actor: Actor): void {
  if (!mayManagePeople(actor)) throw forbidden('only an OWNER (or a master key) may manage operators');
}

export function operatorView(o: Operator) {
  return { id: o.id, email: o.email, name: o.name, role: o.role, disabled: o.disabled };
}

function audit(tx: Tx, actor: Actor, action: string, target: Operator, before: unknown, after: unknown) {
  return appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, actorOperatorId: actor.operatorId, action, targetType: 'Operator', targetId: target.id, ip: actor.ip, before, after });
}

export async function inviteOperator(db: Database, actor: Actor, input: { email: string; role: OperatorRole }): Promise<Operator> {
  assertManagesPeople(actor);
  const email = normalizeEmail('input.email', input.email);
  assertRole('input.role', input.role);
  return db.prisma.$transaction((tx) => insertInvitation(tx, actor.accountId, email, input.role, 'input.email', (created) => audit(tx, actor, 'operator.invite', created, null, operatorView(created))));
}

async function insertInvitation(tx: Tx, accountId: string, email: string, role: OperatorRole, emailField: string, audited: (o: Operator) => Promise<unknown>): Promise<Operator> {
  const existing = await tx.operator.findUnique({ where: { accountId_email: { accountId, email } }, select: { id: true } });
  if (existing) throw new KeywardenError('CONFLICT', `${emailField}: ${email} is already an operator of this account`, emailField);
  const created = await tx.operator.create({ data: { accountId, email, role } });
  await audited(created);
  return created;
}

/**
 * `keywarden operator invite`: sets up a person (the first OWNER, typically) without GraphQL. Run
 * on the server, so it needs no key; the audit event names the CLI as its actor.
 */
export async function inviteOperatorFromCli(db: Database, input: { account: string; email: string; role: string }): Promise<{ operator: Operator; accountId: string }> {
  const accountName = normalizeName('--account', input.account);
  const email = normalizeEmail('--email', input.email);
  const role = input.role.trim().toUpperCase();
  assertRole('--role', role);
  return db.prisma.$transaction(
    async (tx) => {
      const account = await tx.account.findUnique({ where: { name: accountName }, select: { id: true } });
      if (!account) throw badInput('--account', `no account is named "${accountName}"`);
      const operator = await insertInvitation(tx, account.id, email, role, '--email', (created) =>
        appendAudit(tx, { accountId: account.id, actorKeyId: null, actorSystem: 'cli', action: 'operator.invite', targetType: 'Operator', targetId: created.id, ip: null, before: null, after: operatorView(created) }),
      );
      return { operator, accountId: account.id };
      // A one-off command: the embedded store on a busy machine can take longer than Prisma's default 5 s.
    },
    { timeout: 60_000 },
  );
}

async function findOperator(tx: Tx, actor: Actor, id: string): Promise<Operator> {
  const found = isUuid(id) ? await tx.operator.findFirst({ where: { id: id.toLowerCase(), accountId: actor.accountId } }) : null;
  if (!found) throw notFound('operator', id);
  return found;
}

/** Refuses to leave an account that has an active OWNER without one. Locks the owners' rows against a concurrent change. */
async function assertAnotherOwner(tx: Tx, accountId: string, leaving: Operator): Promise<void> {
  if (leaving.role !== 'OWNER' || leaving.disabled) return;
  const owners = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "Operator" WHERE "accountId" = ${accountId}::uuid AND "role" = 'OWNER' AND NOT "disabled" FOR UPDATE`;
  if (!owners.some((o) => o.id !== leaving.id)) throw new KeywardenError('CONFLICT', 'the last OWNER of an account cannot be demoted, disabled or removed; make another person OWNER first');
}

export async function updateOperator(db: Database, actor: Actor, id: string, input: { role?: OperatorRole | null; disabled?: boolean | null }): Promise<Operator> {
  assertManagesPeople(actor);
  if (input.role != null) assertRole('input.role', input.role);
  return db.prisma.$transaction(async (tx) => {
    const before = await findOperator(tx, actor, id);
    const role = input.role ?? before.role;
    const disabled = input.disabled ?? before.disabled;
    if ((role !== 'OWNER' && before.role === 'OWNER') || (disabled && !before.disabled)) await assertAnotherOwner(tx, actor.accountId, before);
    const updated = await tx.operator.update({ where: { id: before.id }, data: { role, disabled } });
    if (disabled) await endOperatorSessions(tx, before.id);
    await audit(tx, actor, 'operator.update', updated, operatorView(before), operatorView(updated));
    return updated;
  });
}

/** Removes an operator; their sessions go with them. Their past audit events keep their id. */
export async function removeOperator(db: Database, actor: Actor, id: string): Promise<boolean> {
  assertManagesPeople(actor);
  return db.prisma.$transaction(async (tx) => {
    const before = await findOperator(tx, actor, id);
    await assertAnotherOwner(tx, actor.accountId, before);
    await tx.operator.delete({ where: { id: before.id } });
    await audit(tx, actor, 'operator.remove', before, operatorView(before), null);
    return true;
  });
}
