import type { Database } from '../infra/db';
import { approvalPolicy } from '../keys/approval-gate';

// The people in reports and the export: who holds which role (the access report's JSON and the
// export), and the person behind a security event (the security report). Nothing secret: no
// sessions, and no identity-provider subject.

export interface OperatorNames {
  email: string;
  name: string | null;
}

/** The account's operators by id, for the ids given (removed operators are simply absent). */
export async function operatorNames(db: Database, accountId: string, ids: Iterable<string | null>): Promise<Map<string, OperatorNames>> {
  const wanted = [...new Set([...ids].filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const rows = await db.prisma.operator.findMany({ where: { accountId, id: { in: wanted } }, select: { id: true, email: true, name: true } });
  return new Map(rows.map((o) => [o.id, { email: o.email, name: o.name }]));
}

/** Every person with access to the account's admin API, and their role. */
export async function operatorRoster(db: Database, accountId: string) {
  const rows = await db.prisma.operator.findMany({
    where: { accountId },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: { id: true, email: true, name: true, role: true, disabled: true, createdAt: true, lastSignInAt: true },
  });
  return rows.map((o) => ({ ...o, createdAt: o.createdAt.toISOString(), lastSignInAt: o.lastSignInAt?.toISOString() ?? null }));
}

/** The export's people section: the operators and the approval policy. */
export async function exportedPeople(db: Database, accountId: string) {
  const [operators, policy] = await Promise.all([operatorRoster(db, accountId), approvalPolicy(db, accountId)]);
  return { operators, approvalPolicy: policy };
}
