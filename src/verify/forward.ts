import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp, HttpError, sendJson, type TrustProxy } from '../infra/http';
import { decideForward, FORWARD_OVERRIDES, type ForwardOverride, type OriginalRequest } from './forward-decision';
import type { VerifyDeps } from './verify';

// /v1/auth/forward: the forward-auth contract of Traefik ForwardAuth and Caddy forward_auth
// (X-Forwarded-Method, X-Forwarded-Uri) and nginx auth_request (X-Original-Method,
// X-Original-URI). 200 with an empty body and the X-Keywarden-* headers when allowed; the
// gateway's denials plus X-Keywarden-Code otherwise (README, "Verification and the gateway";
// docs/integrations.md).

export const FORWARD_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
const ALLOWED = new Set<string>(FORWARD_METHODS);

const bad = (message: string) => new HttpError(400, 'BAD_REQUEST', message);

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** The original request's method and URI from either proxy family's headers; 400 naming what is missing. */
function originalMethodAndUri(req: IncomingMessage): { method: string; uri: string } {
  const method = header(req, 'x-forwarded-method') ?? header(req, 'x-original-method');
  const rawUri = header(req, 'x-forwarded-uri') ?? header(req, 'x-original-uri');
  const missing = [...(method ? [] : ['X-Forwarded-Method (Traefik, Caddy) or X-Original-Method (nginx)']), ...(rawUri ? [] : ['X-Forwarded-Uri (Traefik, Caddy) or X-Original-URI (nginx)'])];
  if (missing.length > 0) throw bad(`the original request is missing: ${missing.join('; ')}`);
  if (!/^[A-Za-z]{1,20}$/.test(method!)) throw bad('X-Forwarded-Method / X-Original-Method: not an HTTP method');
  let uri = rawUri!;
  if (/^https?:\/\//i.test(uri)) {
    const u = URL.canParse(uri) ? new URL(uri) : null;
    if (!u) throw bad('X-Forwarded-Uri / X-Original-URI: not a URI');
    uri = u.pathname + u.search;
  }
  if (!uri.startsWith('/')) throw bad('X-Forwarded-Uri / X-Original-URI: must be the original path, starting with /');
  return { method: method!.toUpperCase(), uri };
}

function overridesOf(url: string): OriginalRequest['overrides'] {
  const q = url.indexOf('?');
  if (q < 0) return {};
  const params = new URLSearchParams(url.slice(q + 1));
  const overrides: Partial<Record<ForwardOverride, string>> = {};
  for (const name of FORWARD_OVERRIDES) {
    const v = params.get(name);
    if (v !== null) overrides[name] = v;
  }
  return overrides;
}

export function createForwardAuth(deps: VerifyDeps & { trustProxy: TrustProxy }) {
  return async function handleForwardAuth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume(); // proxies send no body; anything sent is not read
    if (!ALLOWED.has(req.method ?? '')) {
      sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `use ${FORWARD_METHODS.join(', ')}` } }, { allow: FORWARD_METHODS.join(', ') });
      return;
    }
    const { method, uri } = originalMethodAndUri(req);
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    delete headers.authorization;
    const answer = await decideForward(deps, { method, uri, authorization: req.headers.authorization, ip: clientIp(req, deps.trustProxy), headers, overrides: overridesOf(req.url ?? '') }, 'forward');
    if (answer.body) sendJson(res, answer.status, answer.body, answer.headers);
    else {
      res.writeHead(answer.status, { ...answer.headers, 'content-length': '0' });
      res.end();
    }
  };
}
