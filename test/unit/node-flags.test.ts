import fs from 'node:fs';
import path from 'node:path';
import { KEYWARDEN_NODE_ARGS } from '../../bench/lib';

// The benchmarks start Keywarden with the node flags users get from npm scripts and the bin's
// #! line: a figure measured with other flags than the product runs with would mean nothing.

const ROOT = path.join(__dirname, '..', '..');
const flags = KEYWARDEN_NODE_ARGS.join(' ');

test('npm start, api and worker run node with the flags the benchmarks use', () => {
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  for (const role of ['start', 'api', 'worker']) expect(scripts[role]).toBe(`node ${flags} bin/keywarden.js ${role}`);
});

test('bin/keywarden.js (npx keywarden) passes the same flags on its #! line', () => {
  const first = fs.readFileSync(path.join(ROOT, 'bin', 'keywarden.js'), 'utf8').split('\n')[0];
  expect(first).toBe(`#!/usr/bin/env -S node ${flags}`);
});
