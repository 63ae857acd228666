import crypto from 'node:crypto';
import type { OperatorRole } from '../generated/prisma/enums';
import type { Database, Tx } from '../infra/db';
import { clock } from '../infra/clock';

// Server-side sessions of signed-in people, in PostgreSQL so that every API instance sees them.
// The cookie carries a random token; only its SHA-256 is stored, so a database read does not
// yield a usable cookie. A session ends after SESSION_IDLE_MINUTES without a request, after
// SESSION_MAX_HOURS in any case, and at once when its operator is disabled or removed.

export const SESSION_COOKIE = 'kw_session';

export interface SessionPolicy {
  idleMinutes: number;
  maxHours: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMinutes: 60, maxHours: 12 };

export interface SessionOperator {
  id: string;
  accountId: string;
  role: OperatorRole;
  email: string;
}

/** lastSeenAt is written at most this often: a busy dashboard does not write on every request. */
const TOUCH_EVERY_MS = 30_000;

function digestToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export async function startSession(db: Database | Tx, operatorId: string, policy: SessionPolicy, ip: string | null): Promise<{ token: string; expiresAt: Date }> {
  const token = crypto.randomBytes(32).toString('base64url');
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + policy.maxHours * 3_600_000);
  const prisma = 'prisma' in db ? db.prisma : db;
  await prisma.operatorSession.create({ data: { tokenDigest: digestToken(token), operatorId, createdAt: now, lastSeenAt: now, expiresAt, ip } });
  return { token, expiresAt };
}

/** The operator a session token names, or null when there is no such live session (an ended one is deleted). */
export async function sessionOperator(db: Database, token: string, policy: SessionPolicy): Promise<SessionOperator | null> {
  if (!token || token.length > 200) return null;
  const tokenDigest = digestToken(token);
  const session = await db.prisma.operatorSession.findUnique({
    where: { tokenDigest },
    select: { id: true, lastSeenAt: true, expiresAt: true, operator: { select: { id: true, accountId: true, role: true, email: true, disabled: true } } },
  });
  if (!session) return null;
  const now = clock.nowMs();
  const idle = now - session.lastSeenAt.getTime() > policy.idleMinutes * 60_000;
  if (idle || session.expiresAt.getTime() <= now || session.operator.disabled) {
    await db.prisma.operatorSession.deleteMany({ where: { id: session.id } });
    return null;
  }
  if (now - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await db.prisma.operatorSession.updateMany({ where: { id: session.id }, data: { lastSeenAt: new Date(now) } });
  }
  const { disabled: _disabled, ...operator } = session.operator;
  return operator;
}

export async function endSession(db: Database, token: string): Promise<void> {
  await db.prisma.operatorSession.deleteMany({ where: { tokenDigest: digestToken(token) } });
}

/** Ends every session of an operator (disabled, removed): their next request is unauthenticated. */
export async function endOperatorSessions(tx: Tx, operatorId: string): Promise<number> {
  const { count } = await tx.operatorSession.deleteMany({ where: { operatorId } });
  return count;
}
