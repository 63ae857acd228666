import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

// The local OpenID Connect provider (test/helpers/oidc-provider.mjs) and a browser without a
// browser: fetch with a cookie jar per origin, following redirects by hand.

export interface LocalProvider {
  issuer: string;
  /** Who the next login at the provider signs in as. */
  setPerson(p: { sub: string; email: string; email_verified: boolean; name?: string; groups?: string[] }): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startProvider(clientId: string, clientSecret: string, redirectUri: string): Promise<LocalProvider> {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'oidc-provider.mjs'), clientId, clientSecret, redirectUri], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const issuer = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(JSON.parse(line).issuer);
    });
    child.on('exit', (code) => reject(new Error(`the OIDC provider exited (${code}): ${err}`)));
  });
  return {
    issuer,
    async setPerson(p) {
      const res = await fetch(`${issuer}/_test/user`, { method: 'POST', body: JSON.stringify({ name: 'Test Person', groups: [], ...p }) });
      if (res.status !== 204) throw new Error(`provider refused the person: ${res.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface CookieJar {
  /** origin -> name -> value */
  jars: Map<string, Map<string, string>>;
  /** Every Set-Cookie header seen, for attribute checks. */
  setCookies: string[];
}

export const newJar = (): CookieJar => ({ jars: new Map(), setCookies: [] });

function cookieHeader(jar: CookieJar, url: URL): string {
  const j = jar.jars.get(url.origin);
  return j ? [...j].map(([k, v]) => `${k}=${v}`).join('; ') : '';
}

function store(jar: CookieJar, url: URL, res: Response): void {
  for (const sc of res.headers.getSetCookie()) {
    jar.setCookies.push(sc);
    const [pair, ...attrs] = sc.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const j = jar.jars.get(url.origin) ?? new Map<string, string>();
    jar.jars.set(url.origin, j);
    if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') j.delete(name);
    else j.set(name, value);
  }
}

/** One request with the jar's cookies for its origin; the answer's cookies go into the jar. */
export async function request(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const u = new URL(url);
  const headers = new Headers(init.headers);
  const c = cookieHeader(jar, u);
  if (c) headers.set('cookie', c);
  const res = await fetch(u, { ...init, headers, redirect: 'manual' });
  store(jar, u, res);
  return res;
}

/**
 * Follows redirects from `url` until `stop(url)` says so (that URL is returned unrequested) or an
 * answer is not a redirect. Returns the last URL and, when one was requested, its answer.
 */
export async function follow(jar: CookieJar, url: string, stop: (u: URL) => boolean = () => false): Promise<{ url: string; res: Response | null }> {
  let current = url;
  for (let hops = 0; hops < 20; hops++) {
    if (stop(new URL(current))) return { url: current, res: null };
    const res = await request(jar, current);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { url: current, res };
    current = new URL(location, current).href;
  }
  throw new Error('too many redirects');
}
