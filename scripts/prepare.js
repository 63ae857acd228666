#!/usr/bin/env node
// Run by `npm ci` and `npm install` (the "prepare" script): generates the Prisma client into
// src/generated, then compiles src/ and workers/ into dist/ (scripts/build.js).
// A production install (`npm ci --omit=dev`) has no esbuild, a development dependency (the Prisma
// CLI may still come in as a peer of @prisma/client): there it keeps the dist/ built before it (a
// build stage, or a development install of the same tree), and stops plainly when there is none.
// The Prisma client is compiled into dist/, so src/generated is not needed there.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const installed = (name) => {
  try {
    require.resolve(name, { paths: [root] });
    return true;
  } catch {
    return false;
  }
};

async function main() {
  if (!installed('esbuild')) {
    const main = path.join(root, 'dist', 'src', 'main.js');
    if (!fs.existsSync(main)) {
      console.error('keywarden: no dist/ to run and no build tools to make one: run `npm ci` with development dependencies (then `npm prune --omit=dev`), or copy a built dist/ in first');
      return 1;
    }
    console.log('keywarden: production install: using the dist/ built before');
    return 0;
  }
  const generate = spawnSync(process.execPath, [path.join(__dirname, 'generate.js')], { stdio: 'inherit', cwd: root });
  if (generate.status !== 0) return generate.status ?? 1;
  const { build } = require('./build');
  const n = await build();
  console.log(`keywarden: built ${n} files into dist/`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`keywarden: ${err.message}`);
    process.exitCode = 1;
  },
);
