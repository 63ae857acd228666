#!/usr/bin/env node
// npm run dashboard:build: builds dashboard/ into dashboard/dist (checked in, so `npm start`
// serves it without a build step) and records the digest of what it was built from.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { dashboardSourceDigest, DIGEST_FILE } = require('./dashboard-source');

const root = path.resolve(__dirname, '..');
execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'dashboard', '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
});
fs.writeFileSync(DIGEST_FILE, dashboardSourceDigest() + '\n');
console.log(`dashboard built into ${path.relative(root, path.dirname(DIGEST_FILE))}`);
