import fs from 'node:fs';
import path from 'node:path';

// Where Keywarden's own files are (package.json, prisma/migrations, dashboard/dist): the nearest
// folder above this module whose package.json is Keywarden's. The same answer from src/infra
// (tests, tsx) as from dist/src/infra (the compiled build), which sits one level deeper.

interface Manifest {
  name?: string;
  version?: string;
}

function findPackageRoot(from: string): { root: string; manifest: Manifest } {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
      if (manifest.name === 'keywarden') return { root: dir, manifest };
    }
    if (path.dirname(dir) === dir) throw new Error(`Keywarden's package.json was not found in any folder above ${from}`);
  }
}

const found = findPackageRoot(__dirname);

/** The folder holding Keywarden's package.json. */
export const PACKAGE_ROOT = found.root;
/** The version in that package.json (`keywarden --version`). */
export const PACKAGE_VERSION = found.manifest.version ?? '0.0.0';
