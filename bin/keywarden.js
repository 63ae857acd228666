#!/usr/bin/env -S node --max-semi-space-size=32
// Runs the TypeScript sources through tsx's CommonJS hook: no separate build step.
require('tsx/cjs');
require('../src/main.ts')
  .buildCli()
  .parseAsync(process.argv)
  .catch((err) => {
    process.stderr.write(`keywarden: ${err?.message ? err.message : String(err)}\n`);
    process.exit(1);
  });
