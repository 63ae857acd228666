import type { Actor } from '../access/admin';
import { decide } from '../access/decide';
import { clock } from '../infra/clock';
import { digestSecret, parseSecret } from './secret';
import type { ResolvedKey } from './resolve';

// Turns an Authorization header into the calling key. The same cache and decision as the
// verify path: an expired, revoked or rotated-out key cannot administer anything.

/** `key`: the calling key (absent for a signed-in person); `code`: FORBIDDEN for a refused request, else UNAUTHENTICATED. */
export type AuthResult = { ok: true; actor: Actor; key?: ResolvedKey } | { ok: false; reason: string; code?: 'UNAUTHENTICATED' | 'FORBIDDEN' };

export interface KeyLookup {
  get(digest: string): Promise<ResolvedKey | null>;
}

export async function authenticate(lookup: KeyLookup, authorization: string | null, ip: string | null): Promise<AuthResult> {
  if (!authorization) return { ok: false, reason: 'missing Authorization header; send "Authorization: Bearer <key>"' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return { ok: false, reason: 'malformed Authorization header; expected "Bearer <key>"' };
  const secret = m[1];
  if (!parseSecret(secret)) return { ok: false, reason: 'invalid API key' };
  const key = await lookup.get(digestSecret(secret));
  const code = decide(key, { permission: 'READ_ONLY', ip: ip ?? undefined }, clock.nowMs());
  if (!key || code !== 'VALID') return { ok: false, reason: code === 'NOT_FOUND' ? 'invalid API key' : `API key is not usable: ${code}` };
  return {
    ok: true,
    key,
    actor: { accountId: key.accountId, keyId: key.id, master: key.master, effectivePermission: key.effectivePermission, ip },
  };
}
