import type { Operator } from '../generated/prisma/client';
import type { OperatorRole } from '../generated/prisma/enums';
import { roleFromClaim } from '../access/roles';
import { appendAudit } from '../audit/chain';
import type { Database, Tx } from '../infra/db';
import { clock } from '../infra/clock';
import type { VerifiedIdentity } from './oidc';
import { SignInError } from './oidc';
import { operatorView } from './manage';
import { startSession, type SessionPolicy } from './sessions';

// Who a verified identity is in Keywarden: the operator it signed in as before (issuer + subject),
// else an invitation for its verified email, else (with OIDC_ROLE_CLAIM/OIDC_ROLE_MAP) a new
// operator of OIDC_ACCOUNT. A role mapped from the claim is applied at every sign-in.

export interface SignInSettings {
  roleClaim: string | undefined;
  roleMap: Readonly<Record<string, OperatorRole>>;
  /** OIDC_ACCOUNT: where claim-provisioned operators go. */
  account: string;
  sessions: SessionPolicy;
}

async function candidates(tx: Tx, id: VerifiedIdentity): Promise<Operator[]> {
  return tx.operator.findMany({
    where: {
      OR: [
        { issuer: id.issuer, subject: id.subject },
        { email: id.email, issuer: null },
      ],
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
}

/** The operator of OIDC_ACCOUNT the claim makes this person: found and given the claimed role, or provisioned. */
async function claimedOperator(tx: Tx, id: VerifiedIdentity, settings: SignInSettings, role: OperatorRole, found: Operator[]): Promise<Operator> {
  const account = await tx.account.findUnique({ where: { name: settings.account }, select: { id: true } });
  if (!account) throw new SignInError(`the account "${settings.account}" (OIDC_ACCOUNT) does not exist`, 500);
  const existing = found.find((o) => o.accountId === account.id);
  if (existing) {
    if (existing.role === role) return existing;
    const updated = await tx.operator.update({ where: { id: existing.id }, data: { role } });
    await audit(tx, updated, 'operator.role_from_claim', operatorView(existing), operatorView(updated));
    return updated;
  }
  const created = await tx.operator.create({ data: { accountId: account.id, email: id.email, role, issuer: id.issuer, subject: id.subject, name: id.name } });
  await audit(tx, created, 'operator.provision', null, operatorView(created));
  return created;
}

function audit(tx: Tx, operator: Operator, action: string, before: unknown, after: unknown) {
  return appendAudit(tx, { accountId: operator.accountId, actorKeyId: null, actorOperatorId: operator.id, action, targetType: 'Operator', targetId: operator.id, ip: null, before, after });
}

async function chooseOperator(tx: Tx, id: VerifiedIdentity, settings: SignInSettings): Promise<Operator> {
  const found = await candidates(tx, id);
  const role = settings.roleClaim ? roleFromClaim(id.claims[settings.roleClaim], settings.roleMap) : null;
  if (role) return claimedOperator(tx, id, settings, role, found);
  if (found.length === 0) throw new SignInError(`${id.email} has not been invited to Keywarden; ask an OWNER to invite this address`, 403);
  const active = found.find((o) => !o.disabled);
  if (!active) throw new SignInError(`the operator ${id.email} is disabled; ask an OWNER to enable it`, 403);
  return active;
}

/** Signs a verified person in: links the invitation to their identity, records the sign-in, starts a session. */
export async function signIn(db: Database, id: VerifiedIdentity, settings: SignInSettings, ip: string | null): Promise<{ token: string; expiresAt: Date; operator: Operator }> {
  return db.prisma.$transaction(async (tx) => {
    const chosen = await chooseOperator(tx, id, settings);
    if (chosen.disabled) throw new SignInError(`the operator ${id.email} is disabled; ask an OWNER to enable it`, 403);
    const operator = await tx.operator.update({
      where: { id: chosen.id },
      data: { issuer: id.issuer, subject: id.subject, name: id.name ?? chosen.name, lastSignInAt: clock.now() },
    });
    await appendAudit(tx, {
      accountId: operator.accountId,
      actorKeyId: null,
      actorOperatorId: operator.id,
      action: 'operator.sign_in',
      targetType: 'Operator',
      targetId: operator.id,
      ip,
      after: { email: operator.email, role: operator.role },
    });
    const session = await startSession(tx, operator.id, settings.sessions, ip);
    return { ...session, operator };
  });
}
