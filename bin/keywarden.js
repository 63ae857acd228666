#!/usr/bin/env -S node --max-semi-space-size=32
// npx keywarden, npm start: runs the compiled build in dist/, which `npm ci` (or `npm run build`)
// makes from src/ and workers/.
const fs = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'src', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(`keywarden: ${path.relative(process.cwd(), main) || main} is missing: run \`npm run build\` (npm ci runs it)\n`);
  process.exit(1);
}
require(main)
  .buildCli()
  .parseAsync(process.argv)
  .catch((err) => {
    process.stderr.write(`keywarden: ${err?.message ? err.message : String(err)}\n`);
    process.exit(1);
  });
