import { approvalTriggers, type KeyClass } from '../access/approval';
import type { ApprovalTrigger } from '../generated/prisma/enums';
import type { Database, Tx } from '../infra/db';
import { KeywardenError } from '../infra/errors';

// The direct mutations' side of the two-person rule: while the account's approval policy covers a
// key, createKey, deriveKey, rotateKey and updateKey (raising a key into a covered class) answer
// APPROVAL_REQUIRED and write nothing; requestKey starts the flow instead.

export interface Policy {
  requireFor: ApprovalTrigger[];
  approvals: number;
}

/** The account's approval policy; the default (none, 1 approval) when it never set one. */
export async function approvalPolicy(db: Database | Tx, accountId: string): Promise<Policy> {
  const prisma = 'prisma' in db ? db.prisma : db;
  const row = await prisma.approvalPolicy.findUnique({ where: { accountId } });
  return row ? { requireFor: row.requireFor, approvals: row.approvals } : { requireFor: [], approvals: 1 };
}

export async function assertNoApprovalRequired(tx: Tx, accountId: string, key: KeyClass, before?: KeyClass): Promise<void> {
  const policy = await tx.approvalPolicy.findUnique({ where: { accountId }, select: { requireFor: true } });
  if (!policy || policy.requireFor.length === 0) return;
  const triggers = approvalTriggers(policy.requireFor, key);
  if (triggers.length === 0) return;
  if (before && approvalTriggers(policy.requireFor, before).length > 0) return;
  throw new KeywardenError('APPROVAL_REQUIRED', `the approval policy covers this key (${triggers.join(', ')}): ask for it with requestKey and a second person's approval`);
}
