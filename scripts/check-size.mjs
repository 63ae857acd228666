#!/usr/bin/env node
// Size check, run by `npm run lint`: no function in src/ or workers/ over MAX_FUNCTION_LINES lines
// and no file in src/ over MAX_FILE_LINES lines (generated code aside).
//
// A function counts from its first line to its last, signature and comments included: a
// declaration, a method, a constructor, an accessor, or a function expression or arrow that is
// bound to a name, a property or a return value. Callbacks passed straight to a call are not
// counted as functions of their own (a Pothos field block `builder.queryFields((t) => ({ ... }))`,
// a `new Promise((resolve) => ...)`), though the named functions inside them are.
// Biome's noExcessiveLinesPerFunction was tried first: it skips comment lines and has no such
// exemption, so it measures something else than this rule says.
//
// Breaches known when the check came in are listed in .size-known-breaches.json with the size
// they had then: they may shrink but not grow, and an entry that no longer breaches must go.
//
// Usage: node scripts/check-size.mjs [--root DIR] [--write-known]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export const MAX_FUNCTION_LINES = 60;
export const MAX_FILE_LINES = 400;
const KNOWN_FILE = '.size-known-breaches.json';

const require = createRequire(import.meta.url);
const ts = require('typescript');

function sourceFiles(root, dir) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && path.relative(root, p) !== path.join('src', 'generated')) walk(p);
      } else if (/\.(ts|tsx|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(path.join(root, dir));
  return out.sort();
}

const isFunctionLike = (n) =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n);

/** A function expression or arrow handed straight to a call or `new` as an argument. */
const isCallbackArgument = (n) => (ts.isFunctionExpression(n) || ts.isArrowFunction(n)) && n.parent && (ts.isCallExpression(n.parent) || ts.isNewExpression(n.parent)) && n.parent.arguments?.includes(n);

function nameOf(n, src) {
  if (n.name) return n.name.getText(src);
  if (ts.isConstructorDeclaration(n)) return 'constructor';
  const p = n.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))) return p.name.getText(src);
  if (p && ts.isBinaryExpression(p)) return p.left.getText(src);
  if (p && ts.isExportAssignment(p)) return 'default export';
  if (p && ts.isReturnStatement(p)) return '(returned function)';
  return '(anonymous function)';
}

/** Functions longer than the limit in one file: [{ name, line, lines }]. */
export function longFunctions(file, text, max = MAX_FUNCTION_LINES) {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found = [];
  const visit = (n) => {
    if (isFunctionLike(n) && n.body && !isCallbackArgument(n)) {
      const first = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const last = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      if (last - first + 1 > max) found.push({ name: nameOf(n, src), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

export function lineCount(text) {
  return text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
}

/** Every breach under root: { kind: 'function' | 'file', file, name?, line?, lines }. */
export function measure(root) {
  const breaches = [];
  for (const dir of ['src', 'workers']) {
    for (const abs of sourceFiles(root, dir)) {
      const file = path.relative(root, abs).split(path.sep).join('/');
      const text = fs.readFileSync(abs, 'utf8');
      for (const f of longFunctions(file, text)) breaches.push({ kind: 'function', file, name: f.name, line: f.line, lines: f.lines });
      const lines = lineCount(text);
      if (dir === 'src' && lines > MAX_FILE_LINES) breaches.push({ kind: 'file', file, lines });
    }
  }
  return breaches;
}

const keyOf = (b) => (b.kind === 'file' ? `file ${b.file}` : `function ${b.file} ${b.name}`);

/** Compares breaches with the known list: what fails the check, and how many known breaches are held. */
export function judge(breaches, known) {
  const allowed = new Map(known.map((k) => [keyOf(k), k]));
  const failures = [];
  let held = 0;
  for (const b of breaches) {
    const k = allowed.get(keyOf(b));
    const where = b.kind === 'file' ? b.file : `${b.file}:${b.line} ${b.name}`;
    const limit = b.kind === 'file' ? MAX_FILE_LINES : MAX_FUNCTION_LINES;
    if (!k) failures.push(`${where} is ${b.lines} lines (max ${limit})`);
    else if (b.lines > k.lines) failures.push(`${where} is ${b.lines} lines, more than the ${k.lines} ${KNOWN_FILE} allows it (max ${limit}): shorten it`);
    else held++;
    allowed.delete(keyOf(b));
  }
  for (const k of allowed.values()) failures.push(`${KNOWN_FILE}: ${keyOf(k)} is no longer over the limit: remove its entry`);
  return { failures, held };
}

function main(argv) {
  const rootAt = argv.indexOf('--root');
  const root = path.resolve(rootAt >= 0 ? argv[rootAt + 1] : process.cwd());
  const knownPath = path.join(root, KNOWN_FILE);
  const breaches = measure(root);
  if (argv.includes('--write-known')) {
    const known = breaches.map(({ kind, file, name, lines }) => (kind === 'file' ? { kind, file, lines } : { kind, file, name, lines }));
    // One entry a line, so that removing one is a one-line change.
    fs.writeFileSync(knownPath, `[\n${known.map((k) => `  ${JSON.stringify(k)}`).join(',\n')}\n]\n`);
    console.log(`size: wrote ${known.length} known breaches to ${KNOWN_FILE}`);
    return 0;
  }
  const known = fs.existsSync(knownPath) ? JSON.parse(fs.readFileSync(knownPath, 'utf8')) : [];
  const { failures, held } = judge(breaches, known);
  for (const f of failures) console.log(`size: ${f}`);
  console.log(`size: ${failures.length} failures; ${held} known breaches held in ${KNOWN_FILE} (functions <= ${MAX_FUNCTION_LINES} lines, src/ files <= ${MAX_FILE_LINES} lines)`);
  return failures.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
