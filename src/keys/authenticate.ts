import type { Actor } from '../access/admin';
import { decide } from '../access/decide';
import type { VerificationDetectors } from '../audit/detectors';
import { clock } from '../infra/clock';
import { digestSecret, parseSecret } from './secret';
import type { ResolvedKey } from './resolve';
import type { UseRecorder } from './uses';

// Turns an Authorization header into the calling key. The same cache and decision as the
// verify path: an expired, revoked or rotated-out key cannot administer anything.

/** `key`: the calling key (absent for a signed-in person); `code`: FORBIDDEN for a refused request, else UNAUTHENTICATED. */
export type AuthResult = { ok: true; actor: Actor; key?: ResolvedKey } | { ok: false; reason: string; code?: 'UNAUTHENTICATED' | 'FORBIDDEN' };

export interface KeyLookup {
  get(digest: string): Promise<ResolvedKey | null>;
}

/**
 * What a use of a key sets in motion, shared with verification (the same objects): a ROTATING or
 * EMERGENCY key's use is recorded, and failures of a known key count towards FAILED_AUTH_BURST.
 */
export interface KeyUseEffects {
  uses: Pick<UseRecorder, 'onValid'>;
  detectors: Pick<VerificationDetectors, 'onDenied'>;
}

export async function authenticate(lookup: KeyLookup, authorization: string | null, ip: string | null, effects?: KeyUseEffects): Promise<AuthResult> {
  if (!authorization) return { ok: false, reason: 'missing Authorization header; send "Authorization: Bearer <key>"' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return { ok: false, reason: 'malformed Authorization header; expected "Bearer <key>"' };
  const secret = m[1];
  if (!parseSecret(secret)) return { ok: false, reason: 'invalid API key' };
  const key = await lookup.get(digestSecret(secret));
  const nowMs = clock.nowMs();
  const code = decide(key, { permission: 'READ_ONLY', ip: ip ?? undefined }, nowMs);
  if (key && code !== 'VALID') effects?.detectors.onDenied(key, code, ip ?? undefined, nowMs);
  if (!key || code !== 'VALID') return { ok: false, reason: code === 'NOT_FOUND' ? 'invalid API key' : `API key is not usable: ${code}` };
  effects?.uses.onValid(key, ip ?? undefined);
  return {
    ok: true,
    key,
    actor: { accountId: key.accountId, keyId: key.id, master: key.master, effectivePermission: key.effectivePermission, ip },
  };
}
