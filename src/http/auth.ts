import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OidcConfig } from '../config';
import type { Database } from '../infra/db';
import { readCookie, serializeCookie } from '../infra/cookies';
import { clientIp, sendJson, type TrustProxy } from '../infra/http';
import { logger } from '../infra/logger';
import { LOGIN_COOKIE, OidcFlow, SignInError } from '../operators/oidc';
import { endSession, SESSION_COOKIE, type SessionPolicy } from '../operators/sessions';
import { signIn } from '../operators/signin';

// The sign-in routes: GET /auth/login?returnTo= (to the identity provider), GET /auth/callback
// (back from it: a session cookie, or a page saying why not), POST /auth/logout, and
// GET /auth/config (what the dashboard's sign-in page offers).

export interface AuthRoutesDeps {
  db: Database;
  /** KEYWARDEN_PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
  sessions: SessionPolicy;
  oidc: OidcConfig | null;
  dashboardKeySignin: boolean;
  trustProxy: TrustProxy;
}

const DEFAULT_RETURN = '/dashboard/';

/** Only a path on Keywarden itself: never another site (an open redirect). */
export function safeReturnTo(value: string | null): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.includes('\\')) return DEFAULT_RETURN;
  return value;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendPage(res: ServerResponse, status: number, title: string, message: string, cookies: string[] = []): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="/auth/login">Try again</a> · <a href="/dashboard/">Dashboard</a></p></main></body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'set-cookie': cookies });
  res.end(body);
}

export function createAuthRoutes(deps: AuthRoutesDeps): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const secure = deps.publicUrl.startsWith('https:');
  const ownOrigin = new URL(deps.publicUrl).origin;
  const flow = deps.oidc ? new OidcFlow(deps.oidc, `${deps.publicUrl}/auth/callback`) : null;
  const clearLogin = serializeCookie(LOGIN_COOKIE, '', { secure, maxAge: 0, path: '/auth' });

  async function login(res: ServerResponse, query: URLSearchParams): Promise<void> {
    if (!flow) return sendPage(res, 404, 'Single sign-on is not configured', 'This Keywarden has no OpenID Connect provider (OIDC_ISSUER).');
    const { url, binding } = await flow.begin(deps.db, safeReturnTo(query.get('returnTo')));
    res.writeHead(302, { location: url, 'cache-control': 'no-store', 'set-cookie': serializeCookie(LOGIN_COOKIE, binding, { secure, maxAge: 600, path: '/auth' }) });
    res.end();
  }

  async function callback(req: IncomingMessage, res: ServerResponse, search: string): Promise<void> {
    if (!flow || !deps.oidc) return sendPage(res, 404, 'Single sign-on is not configured', 'This Keywarden has no OpenID Connect provider (OIDC_ISSUER).');
    const { identity, returnTo } = await flow.finish(deps.db, readCookie(req.headers.cookie, LOGIN_COOKIE), search);
    const ip = clientIp(req, deps.trustProxy) ?? null;
    const settings = { roleClaim: deps.oidc.roleClaim, roleMap: deps.oidc.roleMap, account: deps.oidc.account, sessions: deps.sessions };
    const session = await signIn(deps.db, identity, settings, ip);
    logger.info({ operatorId: session.operator.id, accountId: session.operator.accountId }, 'operator signed in');
    const cookie = serializeCookie(SESSION_COOKIE, session.token, { secure, maxAge: deps.sessions.maxHours * 3600 });
    res.writeHead(303, { location: returnTo, 'cache-control': 'no-store', 'set-cookie': [cookie, clearLogin] });
    res.end();
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== ownOrigin) return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: "sign-out must come from Keywarden's own origin" } });
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token) await endSession(deps.db, token);
    res.writeHead(303, { location: DEFAULT_RETURN, 'set-cookie': serializeCookie(SESSION_COOKIE, '', { secure, maxAge: 0 }) });
    res.end();
  }

  return async (req, res, path) => {
    const url = new URL(req.url ?? '/', 'http://keywarden.invalid');
    try {
      if (path === '/auth/login' && req.method === 'GET') return await login(res, url.searchParams);
      if (path === '/auth/callback' && req.method === 'GET') return await callback(req, res, url.search);
      if (path === '/auth/logout' && req.method === 'POST') return await logout(req, res);
      if (path === '/auth/config' && req.method === 'GET') return sendJson(res, 200, { sso: flow !== null, keySignin: deps.dashboardKeySignin });
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${path}` } });
    } catch (err) {
      if (!(err instanceof SignInError)) throw err;
      logger.warn({ path, reason: err.message }, 'sign-in refused');
      sendPage(res, err.status, 'Sign-in refused', err.message, [clearLogin]);
    }
  };
}
