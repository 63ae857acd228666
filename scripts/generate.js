#!/usr/bin/env node
// `prisma generate` without the native schema engine: generation does not use it, but the CLI
// insists on finding one, and this network cannot download it. Point it at a stub that fails
// loudly if anything ever tries to run it.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = path.join(__dirname, 'no-schema-engine.sh');
// The Pothos generator is found on PATH, as npm scripts would have it.
env.PATH = `${path.join(__dirname, '..', 'node_modules', '.bin')}${path.delimiter}${env.PATH ?? ''}`;
const cli = require.resolve('prisma/build/index.js');
const r = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { stdio: 'inherit', env, cwd: path.join(__dirname, '..') });
process.exit(r.status ?? 1);
