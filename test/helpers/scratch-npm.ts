import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// A scratch npm project that installs a packed tarball and some of the root project's packages
// without the network: its package-lock.json is cut from the root's (the same versions and
// integrities `npm ci` put into the local cache), so `npm ci --offline` finds every tarball there.

export const ROOT = path.join(__dirname, '..', '..');
export const run = promisify(execFile);

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

/** Where Node would find `name` from the package installed at `from` (a lock path like node_modules/a/node_modules/b). */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/** The lock entries of `names` and everything they need, at the same paths as in the root lock. */
export function lockClosure(registry: string, names: string[], extraNeeds: Record<string, string> = {}): Record<string, LockEntry> {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const out: Record<string, LockEntry> = {};
  const queue: [string, string][] = [...names, ...Object.keys(extraNeeds)].map((n) => ['', n]);
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    const at = locate(lock.packages, from, name);
    if (!at) {
      if (from === '') throw new Error(`${name} is not in the root package-lock.json: add it to the root devDependencies`);
      continue; // an optional dependency for another platform
    }
    if (out[at]) continue;
    const { dev, devOptional, peer, ...entry } = lock.packages[at] as LockEntry & { dev?: boolean; devOptional?: boolean; peer?: boolean };
    // The root lock names no tarball URLs: without one npm would ask the registry for the
    // package's metadata first, which the offline cache need not hold.
    const bare = name.includes('/') ? name.split('/')[1] : name;
    out[at] = { resolved: `${registry}${name}/-/${bare}-${entry.version}.tgz`, ...entry };
    const optionalPeers = new Set(
      Object.entries(entry.peerDependenciesMeta ?? {})
        .filter(([, m]) => m.optional)
        .map(([n]) => n),
    );
    const needs = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n))];
    for (const dep of needs) queue.push([at, dep]);
  }
  return out;
}

export interface ScratchProject {
  dir: string;
  remove(): void;
}

/**
 * A project in a temp dir depending on the tarball at `tarball` and on `rootPackages` (at their
 * root-lock versions), installed with `npm ci --offline`.
 */
export async function scratchProject(tarball: string, tarballDeps: Record<string, string>, rootPackages: string[]): Promise<ScratchProject> {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(require('node:os').tmpdir()), 'kw-scratch-'));
  const pkgJson = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'], { maxBuffer: 1 << 20 })).stdout) as { name: string; version: string };
  const localName = path.basename(tarball);
  fs.copyFileSync(tarball, path.join(dir, localName));
  const registry = (await run('npm', ['config', 'get', 'registry'], { cwd: ROOT })).stdout.trim().replace(/\/?$/, '/');
  const closure = lockClosure(registry, rootPackages, tarballDeps);
  const dependencies: Record<string, string> = { [pkgJson.name]: `file:${localName}` };
  for (const name of rootPackages) dependencies[name] = closure[`node_modules/${name}`].version!;
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  const lock = {
    name: 'kw-scratch',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'kw-scratch', version: '1.0.0', dependencies },
      [`node_modules/${pkgJson.name}`]: { version: pkgJson.version, resolved: `file:${localName}`, integrity, dependencies: tarballDeps },
      ...closure,
    },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'kw-scratch', version: '1.0.0', private: true, dependencies }, null, 2));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, maxBuffer: 16 << 20 });
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
