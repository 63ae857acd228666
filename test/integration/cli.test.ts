import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { digestSecret } from '../../src/keys/secret';
import { adminUrl } from '../helpers/global-setup';
import { BIN, runCli, spawnCli } from '../helpers/processes';
import { isolatedPrefix, uniqueName } from '../helpers/harness';

// The CLI as a user runs it: bootstrap, first start on the embedded store, start-up failures.

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-cli-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function gql(url: string, secret: string, query: string) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, body: JSON.stringify({ query }) });
  return res.json() as Promise<any>;
}

test('bootstrap --json prints one line with accountId, keyId and a working secret stored only as a digest', async () => {
  const name = uniqueName('cli');
  const r = await runCli(['bootstrap', '--account', name, '--json'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const out = JSON.parse(lines[0]);
  expect(Object.keys(out).sort()).toEqual(['accountId', 'keyId', 'secret']);
  expect(out.secret).toMatch(/^ak_root_[0-9A-Za-z]+$/);
  const db = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await db.connect();
  const rows = await db.query('SELECT * FROM "ApiKey" WHERE id = $1', [out.keyId]);
  await db.end();
  expect(rows.rows[0].digest).toBe(digestSecret(out.secret));
  expect(JSON.stringify(rows.rows)).not.toContain(out.secret);
  // The secret is not in stderr either (no log line carries it).
  expect(r.stderr).not.toContain(out.secret);
});

test('bootstrap of an existing account name fails plainly and creates nothing', async () => {
  const name = uniqueName('cli-dup');
  expect((await runCli(['bootstrap', '--account', name, '--json'], { DATABASE_URL: process.env.TEST_DATABASE_URL })).code).toBe(0);
  const again = await runCli(['bootstrap', '--account', name], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`an account named "${name}" already exists`);
});

test('bootstrap without --account names the missing option', async () => {
  const r = await runCli(['bootstrap'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('--account');
});

test('--version prints the version in package.json', async () => {
  const r = await runCli(['--version'], {});
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

test('the bin runs the compiled dist/: without it, one line says to build', async () => {
  // A copy of the bin beside no dist/: what a checkout looks like before `npm ci` or `npm run build`.
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(BIN, path.join(dir, 'bin', 'keywarden.js'));
  const r = await run(process.execPath, [path.join(dir, 'bin', 'keywarden.js'), '--help'], { cwd: dir }).catch((err) => err);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('keywarden: dist/src/main.js is missing: run `npm run build` (npm ci runs it)\n');
});

test('the compiled modules find the migrations and the dashboard at the package root, from any working directory', async () => {
  const compiled = (file: string) => `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', file))})`;
  const script = `console.log(JSON.stringify([${compiled('infra/migrate.js')}.MIGRATIONS_DIR, ${compiled('dashboard.js')}.DASHBOARD_DIST, ${compiled('infra/paths.js')}.PACKAGE_ROOT]))`;
  const r = await run(process.execPath, ['-e', script], { cwd: tmpDir() });
  expect(JSON.parse(r.stdout)).toEqual([path.join(ROOT, 'prisma', 'migrations'), path.join(ROOT, 'dashboard', 'dist'), ROOT]);
});

test('first start on the embedded store prints the default master key once, serves GraphiQL and the dashboard, and holds the store', async () => {
  const dataDir = tmpDir();
  const p = spawnCli(['start'], { DATABASE_URL: undefined, KEYWARDEN_DATA_DIR: dataDir, PORT: '0', KEYWARDEN_REDIS_PREFIX: isolatedPrefix('cli') });
  try {
    const [, url] = await p.waitFor(/"url":"(http:\/\/[^"]+)"/, 90_000);
    const secret = p.stdout().match(/^(ak_root_[0-9A-Za-z]+)$/m)?.[1];
    expect(secret).toBeDefined();
    // The key appears on its own line exactly once, and in no log line.
    expect(p.stdout().split(secret!).length - 1).toBe(1);
    const logLines = p
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(logLines.some((l) => l.includes(secret!))).toBe(false);

    const viewer = await gql(url, secret!, '{ viewer { account { name } key { master permission } } }');
    expect(viewer.data.viewer).toEqual({ account: { name: 'default' }, key: { master: true, permission: 'FULL_ACCESS' } });
    const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('GraphiQL');
    const dashboard = await fetch(`${url}/dashboard/`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('<div id="root"></div>');

    const busy = await runCli(['bootstrap', '--account', 'second'], { DATABASE_URL: undefined, KEYWARDEN_DATA_DIR: dataDir });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('held by a running Keywarden process');
  } finally {
    p.child.kill('SIGTERM');
  }
  expect(await p.exited).toBe(0);

  // Stopped: bootstrap now works on the same store, and a restart prints no new key.
  const ok = await runCli(['bootstrap', '--account', 'second', '--json'], { DATABASE_URL: undefined, KEYWARDEN_DATA_DIR: dataDir });
  expect(ok.code).toBe(0);
  const again = spawnCli(['start'], { DATABASE_URL: undefined, KEYWARDEN_DATA_DIR: dataDir, PORT: '0' });
  try {
    await again.waitFor(/Keywarden API listening/, 90_000);
    expect(again.stdout()).not.toMatch(/^ak_root_/m);
  } finally {
    again.child.kill('SIGTERM');
    await again.exited;
  }
});

test('two instances starting together on a fresh PostgreSQL migrate once and create one default account', async () => {
  const name = `kw_test_cli_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const env = { DATABASE_URL: url.toString(), PORT: '0', KEYWARDEN_REDIS_PREFIX: isolatedPrefix('cli') };
  const a = spawnCli(['api'], env);
  const b = spawnCli(['api'], env);
  try {
    await Promise.all([a.waitFor(/Keywarden API listening/, 90_000), b.waitFor(/Keywarden API listening/, 90_000)]);
    const keys = (a.stdout() + b.stdout()).match(/^ak_root_[0-9A-Za-z]+$/gm) ?? [];
    expect(keys).toHaveLength(1);
    const db = new Client({ connectionString: url.toString() });
    await db.connect();
    const accounts = await db.query('SELECT name FROM "Account"');
    const migrations = await db.query('SELECT migration_name FROM "_prisma_migrations"');
    await db.end();
    expect(accounts.rows).toEqual([{ name: 'default' }]);
    expect(new Set(migrations.rows.map((r) => r.migration_name)).size).toBe(migrations.rows.length);
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
});

test('an unreachable Redis stops start-up with one line naming REDIS_URL', async () => {
  const r = await runCli(['api'], { DATABASE_URL: process.env.TEST_DATABASE_URL, REDIS_URL: 'redis://127.0.0.1:1', PORT: '0' });
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^keywarden: cannot reach Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:1/);
});

test('an invalid environment variable stops start-up naming it', async () => {
  const r = await runCli(['api'], { DATABASE_URL: process.env.TEST_DATABASE_URL, PORT: 'eighty' });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('PORT');
});

test('scan finds a planted key in a nested file, masks it, ignores a look-alike and exits 1', async () => {
  const dir = tmpDir();
  const created = await runCli(['bootstrap', '--account', uniqueName('scan'), '--json'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  const { secret } = JSON.parse(created.stdout);
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a', 'b', 'config.env'), `# config\nTOKEN=${secret}\n`);
  const lookAlike = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
  fs.writeFileSync(path.join(dir, 'a', 'other.txt'), `nothing here ${lookAlike}\n`);
  const r = await runCli(['scan', dir], {});
  expect(r.code).toBe(1);
  expect(r.stdout.trim().split('\n')).toEqual([`${path.join(dir, 'a', 'b', 'config.env')}:2: ${secret.slice(0, 12)}…****`]);
  expect(r.stdout).not.toContain(secret);
  const clean = await runCli(['scan', path.join(dir, 'a', 'other.txt')], {});
  expect(clean.code).toBe(0);
});
