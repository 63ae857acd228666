#!/usr/bin/env node
// npm run build (and `npm ci`, through scripts/prepare.js): compiles src/ and workers/ into dist/,
// one CommonJS .js file per .ts file in the same layout (dist/src/main.js, dist/workers/index.js),
// so relative requires between them work as in the sources. esbuild only strips types: the type
// check is `npm run typecheck`. Files in dist/ that no source produces any more are removed.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const DIST = path.join(root, 'dist');

function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

async function build() {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/**/*.ts', 'workers/**/*.ts'],
    outdir: DIST,
    outbase: '.',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Linked maps: stack traces point into the TypeScript sources under `node --enable-source-maps`.
    sourcemap: 'linked',
    logLevel: 'warning',
    metafile: true,
  });
  const written = new Set(Object.keys(result.metafile.outputs).map((f) => path.resolve(root, f)));
  for (const file of listFiles(DIST)) if (!written.has(file)) fs.rmSync(file);
  return written.size;
}

module.exports = { build, DIST };

if (require.main === module) {
  const started = Date.now();
  build().then(
    (n) => console.log(`keywarden: built ${n} files into dist/ in ${Date.now() - started} ms`),
    (err) => {
      console.error(`keywarden: build failed: ${err.message}`);
      process.exit(1);
    },
  );
}
