import type { AuthResult } from '../keys/authenticate';
import { authenticate, type KeyUseEffects } from '../keys/authenticate';
import type { KeyCache } from '../keys/cache';
import type { Database } from '../infra/db';
import { authenticateSession } from '../operators/authenticate';
import type { SessionPolicy } from '../operators/sessions';

// Who is calling the admin API: a key when the request names one in Authorization (keys work as
// they always did), else a signed-in person's session cookie, which must come with Keywarden's own
// Origin (FORBIDDEN otherwise).

export interface CredentialDeps {
  db: Database;
  cache: KeyCache;
  /** Signed-in people: session lifetimes (absent: no cookie sign-in). */
  sessions?: SessionPolicy;
  /** KEYWARDEN_PUBLIC_URL's origin; absent: the request's own. */
  publicOrigin?: string;
}

export async function authenticateRequest(deps: CredentialDeps, request: Request, ip: string | null, keyUses?: KeyUseEffects): Promise<AuthResult> {
  const authorization = request.headers.get('authorization');
  const cookie = request.headers.get('cookie');
  if (!authorization && cookie && deps.sessions) {
    const ownOrigin = deps.publicOrigin ?? new URL(request.url).origin;
    const person = await authenticateSession(deps.db, deps.sessions, { cookie, origin: request.headers.get('origin'), ownOrigin, ip });
    if (person) return person;
  }
  return authenticate(deps.cache, authorization, ip, keyUses);
}
