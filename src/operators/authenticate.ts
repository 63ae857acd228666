import type { Actor } from '../access/admin';
import type { Database } from '../infra/db';
import { readCookie } from '../infra/cookies';
import { SESSION_COOKIE, sessionOperator, type SessionPolicy } from './sessions';

// Turns a session cookie into the signed-in operator, for GraphQL. A cookie is sent by the browser
// with any request to Keywarden, including ones another site starts: so a cookie-authenticated
// request must come from Keywarden's own origin (CSRF), or it is refused.

export type OperatorAuth = { ok: true; actor: Actor } | { ok: false; reason: string; code: 'UNAUTHENTICATED' | 'FORBIDDEN' };

export interface SessionRequest {
  cookie: string | null;
  origin: string | null;
  /** Keywarden's own origin (scheme://host[:port]). */
  ownOrigin: string;
  ip: string | null;
}

/** null: the request carries no session cookie (the caller falls back to keys). */
export async function authenticateSession(db: Database, policy: SessionPolicy, req: SessionRequest): Promise<OperatorAuth | null> {
  const token = readCookie(req.cookie, SESSION_COOKIE);
  if (!token) return null;
  if (req.origin !== req.ownOrigin) {
    return { ok: false, code: 'FORBIDDEN', reason: `a request signed in by cookie must come from Keywarden's own origin (${req.ownOrigin}); got ${req.origin ?? 'no Origin header'}` };
  }
  const operator = await sessionOperator(db, token, policy);
  if (!operator) return { ok: false, code: 'UNAUTHENTICATED', reason: 'the session has ended; sign in again' };
  return {
    ok: true,
    actor: { accountId: operator.accountId, keyId: null, operatorId: operator.id, role: operator.role, master: true, effectivePermission: 'FULL_ACCESS', ip: req.ip },
  };
}
