import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import sirv from 'sirv';

// The web dashboard (dashboard/, built into dashboard/dist and checked in) is static files and a
// client of /graphql: this only serves those files under /dashboard/, with headers that keep the
// page from loading anything but its own scripts and from being framed.

const DASHBOARD_DIST = path.resolve(__dirname, '..', 'dashboard', 'dist');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export type DashboardHandler = (req: http.IncomingMessage, res: http.ServerResponse, path: string) => void;

export function createDashboardHandler(dist = DASHBOARD_DIST): DashboardHandler {
  const built = fs.existsSync(path.join(dist, 'index.html'));
  const serve = built
    ? sirv(dist, {
        etag: true,
        dotfiles: false,
        // Hashed file names under assets/ never change; index.html must be revalidated.
        setHeaders: (res, pathname) => {
          for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
          res.setHeader('cache-control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      })
    : null;

  return (req, res, urlPath) => {
    const send = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS, ...headers });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'the dashboard is static: use GET', { allow: 'GET, HEAD' });
    if (urlPath === '/dashboard') return send(308, 'see /dashboard/', { location: '/dashboard/' });
    if (!serve) return send(503, 'the dashboard is not built: run `npm run dashboard:build`');
    const original = req.url;
    req.url = urlPath.slice('/dashboard'.length) || '/';
    serve(req, res, () => {
      req.url = original;
      send(404, `no dashboard file at ${urlPath}`);
    });
  };
}
