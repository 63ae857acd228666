import type { OperatorRole } from '../generated/prisma/enums';
import { isKeyAdmin, type Actor } from './admin';

// What a person's role lets them do (the README's "People and single sign-on"):
// OWNER everything, ADMIN everything but people and the approval policy, AUDITOR reads only.
// A master key can do what an OWNER can; other keys keep their own rules (admin.ts).

export const OPERATOR_ROLES = ['OWNER', 'ADMIN', 'AUDITOR'] as const satisfies readonly OperatorRole[];

const RANK: Record<OperatorRole, number> = { AUDITOR: 1, ADMIN: 2, OWNER: 3 };

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (OPERATOR_ROLES as readonly string[]).includes(value);
}

/** The highest of `roles`, or null for none. */
export function highestRole(roles: readonly OperatorRole[]): OperatorRole | null {
  let best: OperatorRole | null = null;
  for (const r of roles) if (best === null || RANK[r] > RANK[best]) best = r;
  return best;
}

/** May `actor` change anything at all? Every key and operator but an AUDITOR. */
export function mayWrite(actor: Actor): boolean {
  return actor.role !== 'AUDITOR';
}

/** May `actor` manage operators and the approval policy? A master key or an OWNER. */
export function mayManagePeople(actor: Actor): boolean {
  if (!actor.master) return false;
  return actor.operatorId ? actor.role === 'OWNER' : true;
}

/** May `actor` approve or reject key requests? People only: an OWNER or an ADMIN. */
export function mayApprove(actor: Actor): boolean {
  return !!actor.operatorId && (actor.role === 'OWNER' || actor.role === 'ADMIN');
}

/**
 * What `actor` may follow live (GraphQL subscriptions), as it may read: a person by role (OWNER,
 * ADMIN and AUDITOR all read the whole account; an AUDITOR only reads, and a subscription only
 * reads), a master key its account, a MANAGE/FULL_ACCESS key its subtree; anyone else nothing.
 */
export function liveScopeOf(actor: Actor): 'account' | 'subtree' | null {
  if (actor.operatorId) return isOperatorRole(actor.role) ? 'account' : null;
  if (actor.master) return 'account';
  return isKeyAdmin(actor) ? 'subtree' : null;
}

/**
 * The role an identity provider's claim maps to through OIDC_ROLE_MAP: the highest role any of
 * its values (a string or a list of strings) is mapped to, or null when none is.
 */
export function roleFromClaim(claim: unknown, map: Readonly<Record<string, OperatorRole>>): OperatorRole | null {
  const values = Array.isArray(claim) ? claim : claim == null ? [] : [claim];
  const roles = values.filter((v): v is string => typeof v === 'string' && Object.hasOwn(map, v)).map((v) => map[v]);
  return highestRole(roles);
}
