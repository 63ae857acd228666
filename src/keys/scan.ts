import fs from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { isLoopbackHost } from '../infra/ip';
import { SECRET_CANDIDATE, maskSecret, parseSecret } from './secret';

// `keywarden scan`: finds Keywarden secrets in files by the prefix pattern, then the checksum, so
// random look-alikes are not reported. Walks directories as git sees them: .gitignore files apply
// to their own directory and below (deeper files win, `!` re-includes), .git and node_modules are
// never entered, and binary files (a NUL byte in the first 8 KB, as git decides) are skipped.
// Paths named on the command line are scanned even when ignored: the user asked for them.

export interface Finding {
  file: string;
  line: number;
  masked: string;
}

export interface ScanOptions {
  /** Called with the number of files read so far, every `progressEvery` files. */
  onProgress?: (filesScanned: number) => void;
  progressEvery?: number;
}

export interface ScanSummary {
  found: number;
  filesScanned: number;
}

const SKIP_DIRS = new Set(['.git', 'node_modules']);
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const BINARY_SNIFF_BYTES = 8 * 1024;

interface IgnoreScope {
  base: string;
  rules: Ignore;
}

function readIgnoreFile(dir: string): IgnoreScope | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, '.gitignore'), 'utf8');
  } catch {
    return null;
  }
  return { base: dir, rules: ignore().add(text) };
}

/** Rules of every scope in order, root first: the last rule that speaks about a path decides. */
function isIgnored(scopes: readonly IgnoreScope[], target: string, isDir: boolean): boolean {
  let ignored = false;
  for (const s of scopes) {
    const rel = path.relative(s.base, target).split(path.sep).join('/');
    if (!rel || rel.startsWith('..')) continue;
    const r = s.rules.test(isDir ? `${rel}/` : rel);
    if (r.ignored) ignored = true;
    else if (r.unignored) ignored = false;
  }
  return ignored;
}

/**
 * The .gitignore files above a scanned directory that still apply to it: from the enclosing
 * repository's root (the nearest ancestor holding .git) down to the directory's parent.
 */
function enclosingScopes(dir: string): IgnoreScope[] {
  const chain: string[] = [];
  let cur = path.dirname(dir);
  for (;;) {
    chain.unshift(cur);
    if (fs.existsSync(path.join(cur, '.git'))) break;
    const up = path.dirname(cur);
    if (up === cur) return []; // not inside a repository: no outer rules apply
    cur = up;
  }
  return chain.map(readIgnoreFile).filter((s): s is IgnoreScope => s !== null);
}

async function* walkDir(dir: string, scopes: readonly IgnoreScope[]): AsyncGenerator<string> {
  const own = readIgnoreFile(dir);
  const here = own ? [...scopes, own] : scopes;
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return; // unreadable directory: nothing to report from it
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (SKIP_DIRS.has(e.name) || isIgnored(here, full, true)) continue;
      yield* walkDir(full, here);
    } else if (e.isFile() && !isIgnored(here, full, false)) {
      yield full;
    }
  }
}

async function* walk(root: string): AsyncGenerator<string> {
  const st = await fs.promises.lstat(root);
  if (st.isSymbolicLink()) return;
  if (st.isFile()) yield root;
  else if (st.isDirectory()) yield* walkDir(root, enclosingScopes(path.resolve(root)));
}

export function findSecretsInLine(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SECRET_CANDIDATE)) if (parseSecret(m[0])) out.push(m[0]);
  return out;
}

function looksBinary(head: Buffer): boolean {
  return head.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/** Secrets in one file's contents, with 1-based line numbers. */
function findSecretsInText(buf: Buffer): { line: number; secret: string }[] {
  if (looksBinary(buf) || !buf.includes('ak_')) return [];
  const out: { line: number; secret: string }[] = [];
  const lines = buf.toString('utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].includes('ak_')) continue;
    for (const secret of findSecretsInLine(lines[i])) out.push({ line: i + 1, secret });
  }
  return out;
}

/**
 * Scans files and directories; `onFinding` gets each finding (masked) and, separately, the
 * secret itself, which only `--report` uses. Throws for a path that does not exist.
 */
export async function scanPaths(paths: string[], onFinding: (f: Finding, secret: string) => void, opts: ScanOptions = {}): Promise<ScanSummary> {
  for (const root of paths) if (!fs.existsSync(root)) throw new Error(`no such file or directory: ${root}`);
  const every = opts.progressEvery ?? 1000;
  let found = 0;
  let filesScanned = 0;
  for (const root of paths) {
    for await (const file of walk(root)) {
      let buf: Buffer;
      try {
        const st = await fs.promises.stat(file);
        if (st.size > MAX_FILE_BYTES) continue;
        buf = await fs.promises.readFile(file);
      } catch {
        continue; // vanished or unreadable since it was listed
      }
      filesScanned++;
      if (opts.onProgress && filesScanned % every === 0) opts.onProgress(filesScanned);
      for (const { line, secret } of findSecretsInText(buf)) {
        found++;
        onFinding({ file, line, masked: maskSecret(secret) }, secret);
      }
    }
  }
  return { found, filesScanned };
}

const LEAKED_PATH = '/v1/keys/leaked';
/** The endpoint's own limit per request. */
const REPORT_BATCH = 100;

/** `--report URL`: a Keywarden's base URL, or the leaked endpoint itself. */
export function leakedEndpoint(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--report: not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--report: must be an http or https URL: ${url}`);
  // The report carries live secrets: in clear only to this machine.
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) throw new Error(`--report: plain http is allowed only to a loopback host (localhost, 127.0.0.1, ::1); use https: ${u.origin}`);
  if (!u.pathname.endsWith(LEAKED_PATH)) u.pathname = u.pathname.replace(/\/+$/, '') + LEAKED_PATH;
  return u;
}

/**
 * Posts the secrets to a Keywarden's leaked endpoint in batches of 100 (distinct secrets only).
 * A 429 is waited out (Retry-After, up to a minute, a few times); anything but 202 is an error.
 * Returns how many secrets the server acknowledged.
 */
export async function reportLeakedSecrets(endpoint: URL, secrets: readonly string[], opts: { source?: string; maxRetries?: number } = {}): Promise<number> {
  const distinct = [...new Set(secrets)];
  const maxRetries = opts.maxRetries ?? 3;
  let received = 0;
  for (let i = 0; i < distinct.length; i += REPORT_BATCH) {
    const body = JSON.stringify({ keys: distinct.slice(i, i + REPORT_BATCH), source: opts.source ?? 'keywarden-scan' });
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      if (res.status === 202) {
        received += Number((JSON.parse(text) as { received?: number }).received ?? 0);
        break;
      }
      const retryAfter = Number(res.headers.get('retry-after'));
      if (res.status === 429 && attempt < maxRetries && retryAfter > 0 && retryAfter <= 60) {
        await new Promise((r) => setTimeout(r, retryAfter * 1000));
        continue;
      }
      throw new Error(`reporting to ${endpoint.origin} failed: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
  }
  return received;
}
