import { forgetKey, storedKey } from './session';

// The dashboard's only way to Keywarden: POST /graphql, as the pasted key (Authorization) or,
// without one, as the person signed in through single sign-on (the HttpOnly session cookie, which
// Keywarden accepts only with its own Origin).

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    /** The input path at fault (extensions.field), e.g. "input.upstreamUrl". */
    readonly field?: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();
export function onSignedOut(fn: Listener): () => void {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

/**
 * How a request to Keywarden authenticates. A key goes in Authorization and no cookie is sent;
 * otherwise the session cookie goes along. Either way no Referer: the browser still names this
 * page's origin in `Origin` on a POST, which Keywarden requires with a cookie.
 */
export function credentials(secret = storedKey()): Pick<RequestInit, 'credentials' | 'referrerPolicy'> & { headers: Record<string, string> } {
  if (secret) return { headers: { authorization: `Bearer ${secret}` }, credentials: 'omit', referrerPolicy: 'no-referrer' };
  return { headers: {}, credentials: 'same-origin', referrerPolicy: 'no-referrer' };
}

/** A URL on Keywarden relative to the dashboard (served under /dashboard/). */
export function keywardenUrl(path: string): URL {
  return new URL(`../${path}`, window.location.href);
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, secret = storedKey()): Promise<T> {
  const auth = credentials(secret);
  let res: Response;
  try {
    res = await fetch(keywardenUrl('graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth.headers },
      body: JSON.stringify({ query, variables }),
      credentials: auth.credentials,
      referrerPolicy: auth.referrerPolicy,
    });
  } catch {
    throw new GraphQLRequestError('Keywarden is not reachable', 'NETWORK');
  }
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string; field?: string } }[] };
  try {
    body = await res.json();
  } catch {
    throw new GraphQLRequestError(`unexpected answer from Keywarden (HTTP ${res.status})`, 'NETWORK');
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    const code = first.extensions?.code;
    if (code === 'UNAUTHENTICATED') {
      forgetKey();
      signedOutListeners.forEach((fn) => fn());
    }
    throw new GraphQLRequestError(first.message, code, first.extensions?.field);
  }
  if (!body.data) throw new GraphQLRequestError('empty answer from Keywarden', undefined);
  return body.data;
}

/** What the sign-in page offers (GET /auth/config); a Keywarden without it offers the key only. */
export async function signInOptions(): Promise<{ sso: boolean; keySignin: boolean }> {
  try {
    const res = await fetch(keywardenUrl('auth/config'), { credentials: 'omit', referrerPolicy: 'no-referrer' });
    if (res.ok) return (await res.json()) as { sso: boolean; keySignin: boolean };
  } catch {}
  return { sso: false, keySignin: true };
}

/** The identity provider's sign-in, coming back to `returnTo` (a path on Keywarden). */
export function ssoSignInUrl(returnTo: string): string {
  const url = keywardenUrl('auth/login');
  url.searchParams.set('returnTo', returnTo);
  return url.href;
}

/** Ends the signed-in person's session on the server (POST /auth/logout from this origin). */
export async function endSession(): Promise<void> {
  const auth = credentials(null);
  await fetch(keywardenUrl('auth/logout'), { method: 'POST', credentials: auth.credentials, referrerPolicy: auth.referrerPolicy, redirect: 'manual' }).catch(() => undefined);
}

export function errorText(err: unknown): string {
  if (err instanceof GraphQLRequestError) return err.code && err.code !== 'NETWORK' ? `${err.message} (${err.code})` : err.message;
  return err instanceof Error ? err.message : String(err);
}
