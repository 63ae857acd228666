import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// The layer check (.dependency-cruiser.cjs) and the size check (scripts/check-size.mjs) run in
// `npm run lint`. Each is run here on a small tree made for the test, with one import or one
// function per rule, so a rule whose pattern stops matching fails here rather than passing in CI.

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);
const tmpDirs: string[] = [];

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-house-'));
  tmpDirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const imports = (...specs: string[]) => `${specs.map((s, i) => `import * as m${i} from '${s}';`).join('\n')}\nexport const used = [${specs.map((_, i) => `m${i}`).join(', ')}];\n`;

describe('layer check (dependency-cruiser)', () => {
  let violations: string[];

  beforeAll(async () => {
    const dir = tree({
      'package.json': JSON.stringify({ name: 'fixture', dependencies: { ioredis: '*', graphql: '*', pg: '*', bullmq: '*' }, devDependencies: { autocannon: '*' } }),
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', strict: true, esModuleInterop: true } }),
      // base: ground floor
      'src/config.ts': imports('./infra/errors'),
      'src/infra/errors.ts': 'export class KeywardenError extends Error {}\n',
      'src/infra/clock.ts': 'export const now = () => 0;\n',
      'src/infra/db.ts': 'export const db = 1;\n',
      'src/infra/reaches-up.ts': imports('../keys/a'),
      'src/generated/prisma/enums.ts': "export const Permission = { READ_ONLY: 'READ_ONLY' } as const;\n",
      // domain
      'src/keys/a.ts': imports('../infra/db', '../config', '../limits/p'),
      'src/keys/to-entry.ts': imports('../graphql/b'),
      'src/keys/to-graphql.ts': imports('graphql'),
      'src/events/to-bullmq.ts': imports('bullmq'),
      'src/keys/to-app.ts': "import type { App } from '../app';\nexport type A = App;\n",
      'src/keys/to-audit.ts': imports('../audit/d'),
      'src/audit/d.ts': 'export const d = 1;\n',
      'src/audit/to-keys.ts': imports('../keys/a'),
      'src/webhooks/x.ts': imports('../reports/y'),
      'src/reports/y.ts': 'export const y = 1;\n',
      'src/reports/to-webhooks.ts': imports('../webhooks/x'),
      'src/limits/p.ts': imports('./q'),
      'src/limits/q.ts': "import { used } from './p';\nexport const q = used;\n",
      'src/access/pure.ts': imports('../infra/errors', '../infra/clock', '../generated/prisma/enums', './other'),
      'src/access/other.ts': 'export const o = 1;\n',
      'src/access/io.ts': imports('node:fs', 'ioredis'),
      'src/access/beyond.ts': imports('../infra/db', '../keys/a'),
      // faces and composition
      'src/graphql/b.ts': imports('../keys/a', './c'),
      'src/graphql/c.ts': 'export const c = 1;\n',
      'src/graphql/to-verify.ts': imports('../verify/v'),
      'src/verify/v.ts': imports('../keys/a', 'autocannon', 'pg'),
      'src/verify/missing.ts': imports('./nowhere'),
      'src/verify/unlisted.ts': imports('lru-cache'),
      'workers/w.ts': imports('../src/keys/a', '../src/graphql/c'),
      'src/dashboard.ts': imports('./infra/db', './verify/v'),
      'src/server.ts': imports('./graphql/b', './verify/v', './dashboard'),
      'src/app.ts': `${imports('./server', '../workers/w')}export type App = number;\n`,
      'src/main.ts': imports('./app'),
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const bin = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
    const out = await run(process.execPath, [bin, 'src', 'workers', '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json'], { cwd: dir, maxBuffer: 64 << 20 }).catch((err) => err);
    const result = JSON.parse(out.stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    // Packages resolve through the symlink to the real node_modules: keep the part from node_modules/ on.
    violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\//, 'node_modules/')}`).sort();
  }, 60_000);

  test('each rule flags exactly the imports made to break it, and nothing else', () => {
    expect(violations).toEqual(
      [
        'access-imports-only-access-errors-clock-enums: src/access/beyond.ts -> src/infra/db.ts',
        'access-imports-only-access-errors-clock-enums: src/access/beyond.ts -> src/keys/a.ts',
        'access-is-pure-no-io: src/access/io.ts -> fs',
        'access-is-pure-no-io: src/access/io.ts -> node_modules/ioredis/built/index.js',
        'base-imports-nothing-above: src/infra/reaches-up.ts -> src/keys/a.ts',
        'domain-imports-no-entry: src/keys/to-app.ts -> src/app.ts',
        'domain-imports-no-entry: src/keys/to-entry.ts -> src/graphql/b.ts',
        'domain-imports-no-graphql-or-bullmq: src/events/to-bullmq.ts -> node_modules/bullmq/dist/cjs/index.js',
        'domain-imports-no-graphql-or-bullmq: src/keys/to-graphql.ts -> node_modules/graphql/index.js',
        'faces-do-not-import-each-other: src/graphql/to-verify.ts -> src/verify/v.ts',
        'faces-do-not-import-each-other: workers/w.ts -> src/graphql/c.ts',
        'no-cycles-between-domain-rooms: src/reports -> src/webhooks',
        'no-cycles-between-domain-rooms: src/webhooks -> src/reports',
        'no-cycles-between-domain-rooms: src/audit -> src/keys',
        'no-cycles-between-domain-rooms: src/keys -> src/audit',
        'no-module-cycles: src/limits/p.ts -> src/limits/q.ts',
        'no-unlisted-package: src/verify/unlisted.ts -> node_modules/lru-cache/dist/commonjs/node/index.d.ts',
        'no-unresolvable: src/verify/missing.ts -> ./nowhere',
        'only-the-composition-imports-the-composition: src/keys/to-app.ts -> src/app.ts',
        'runtime-uses-no-dev-dependency: src/verify/v.ts -> node_modules/autocannon/autocannon.js',
        'single-file-faces-import-no-face: src/dashboard.ts -> src/verify/v.ts',
      ].sort(),
    );
  });
});

describe('size check (scripts/check-size.mjs)', () => {
  const fn = (name: string, lines: number) => `export function ${name}() {\n${'  void 0;\n'.repeat(lines - 2)}}\n`;
  const arrow = (lines: number) => `() => {\n${'    void 0;\n'.repeat(lines - 2)}  }`;

  async function check(files: Record<string, string>): Promise<{ code: number; lines: string[] }> {
    const dir = tree(files);
    const r = await run(process.execPath, [path.join(ROOT, 'scripts', 'check-size.mjs'), '--root', dir]).then(
      (ok) => ({ code: 0, stdout: ok.stdout }),
      (err) => ({ code: err.code as number, stdout: err.stdout as string }),
    );
    return { code: r.code, lines: r.stdout.trim().split('\n') };
  }

  test('a function of 61 lines fails, one of 60 passes; methods, constructors and functions bound to a property count too', async () => {
    const r = await check({
      'src/ok.ts': fn('sixty', 60),
      'src/long.ts': fn('sixtyOne', 61),
      'src/shapes.ts': [`export class C {\n  constructor() {\n${'    void 0;\n'.repeat(59)}  }\n  method() {\n${'    void 0;\n'.repeat(59)}  }\n}\n`, `export const handlers = { onEvent: ${arrow(61)} };\n`].join(''),
    });
    expect(r.code).toBe(1);
    expect(r.lines.slice(0, -1)).toEqual([
      'size: src/long.ts:1 sixtyOne is 61 lines (max 60)',
      'size: src/shapes.ts:2 constructor is 61 lines (max 60)',
      'size: src/shapes.ts:63 method is 61 lines (max 60)',
      'size: src/shapes.ts:125 onEvent is 61 lines (max 60)',
    ]);
  });

  test('callbacks passed as arguments (Pothos field blocks) are not counted, the named functions inside them are', async () => {
    const r = await check({
      'src/graphql/fields.ts': `declare const builder: { queryFields(f: () => unknown): void };\nbuilder.queryFields(${arrow(120)});\nbuilder.queryFields(() => {\n  ${fn('inner', 61).replace('export ', '')}  return inner;\n});\n`,
    });
    expect(r.lines.slice(0, -1)).toEqual(['size: src/graphql/fields.ts:123 inner is 61 lines (max 60)']);
  });

  test('a file in src/ over 400 lines fails; workers/ files and generated code are not held to it', async () => {
    const long = 'export const x = 1;\n'.repeat(401);
    const r = await check({ 'src/big.ts': long, 'src/fine.ts': 'export const x = 1;\n'.repeat(400), 'workers/big.ts': long, 'src/generated/prisma/client.ts': long + fn('generated', 100) });
    expect(r.code).toBe(1);
    expect(r.lines.slice(0, -1)).toEqual(['size: src/big.ts is 401 lines (max 400)']);
  });

  test('a known breach may shrink but not grow, and an entry that no longer breaches must be removed', async () => {
    const known = [
      { kind: 'function', file: 'src/a.ts', name: 'shrunk', lines: 80 },
      { kind: 'function', file: 'src/a.ts', name: 'grown', lines: 70 },
      { kind: 'function', file: 'src/a.ts', name: 'fixed', lines: 90 },
    ];
    const r = await check({ '.size-known-breaches.json': JSON.stringify(known), 'src/a.ts': fn('shrunk', 75) + fn('grown', 71) + fn('fixed', 20) });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      'size: src/a.ts:76 grown is 71 lines, more than the 70 .size-known-breaches.json allows it (max 60): shorten it',
      'size: .size-known-breaches.json: function src/a.ts fixed is no longer over the limit: remove its entry',
      'size: 2 failures; 1 known breaches held in .size-known-breaches.json (functions <= 60 lines, src/ files <= 400 lines)',
    ]);
  });
});
