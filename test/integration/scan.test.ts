import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scanPaths, type Finding } from '../../src/keys/scan';
import { isolatedPrefix, startHarness, type Harness } from '../helpers/harness';
import { breakChecksum, createKey, forgeSecret } from '../helpers/gql-fixtures';
import { runCli } from '../helpers/processes';

// `npx keywarden scan PATH...` (README, Reports, leaked keys and scanning): finds secrets by prefix and checksum in the files git
// would see, prints `file:line: <masked>`, exits 1 when any is found (0 clean, 2 bad usage), and
// with --report posts them to a Keywarden's /v1/keys/leaked, which revokes them.

jest.setTimeout(60_000);

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const randomBase62 = (n: number) => Array.from(crypto.randomBytes(n), (b) => BASE62[b % 62]).join('');
const masked = (secret: string) => `${secret.slice(0, secret.indexOf('_', 3) + 5)}…****`;

const tmpDirs: string[] = [];
function tree(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-scan-'));
  tmpDirs.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  return root;
}
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function scan(...paths: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  await scanPaths(paths, (f) => out.push(f));
  return out;
}

test('a key planted in a nested file is found with its line, masked', async () => {
  const secret = forgeSecret('prod');
  const root = tree({ 'a/b/c/config.env': `# settings\nNAME=x\nKEYWARDEN_KEY="${secret}"\n`, 'a/readme.md': 'nothing\n' });
  expect(await scan(root)).toEqual([{ file: path.join(root, 'a/b/c/config.env'), line: 3, masked: masked(secret) }]);
});

test('a look-alike with a wrong checksum and random 43-char base62 bodies are not reported', async () => {
  const lines = [`TOKEN=${breakChecksum(forgeSecret('prod'))}`];
  for (let i = 0; i < 200; i++) lines.push(`k${i}=ak_${['dev', 'prod', 'int', 'emg', 'root'][i % 5]}_${randomBase62(43)}${randomBase62(6)}`);
  for (let i = 0; i < 50; i++) lines.push(randomBase62(43));
  const root = tree({ 'noise.txt': lines.join('\n') });
  expect(await scan(root)).toEqual([]);
});

test('.gitignore rules apply to their own directory and below; ! re-includes; .git, node_modules and binary files are skipped', async () => {
  const s = () => forgeSecret('dev');
  const root = tree({
    '.gitignore': '*.log\nbuild/\n!keep.log\n',
    'app.log': s(),
    'keep.log': s(),
    'build/out.txt': s(),
    'src/.gitignore': 'local.env\n',
    'src/local.env': s(),
    'other/local.env': s(), // the src/.gitignore does not reach here
    'src/deep/local.env': s(), // but reaches below src
    '.git/config': s(),
    'node_modules/pkg/index.js': s(),
    'image.png': Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00]), Buffer.from(`\n${s()}\n`)]),
  });
  expect((await scan(root)).map((f) => path.relative(root, f.file))).toEqual(['keep.log', 'other/local.env']);
});

test('a path named on the command line is scanned even when a .gitignore covers it', async () => {
  const secret = forgeSecret('int');
  const root = tree({ '.gitignore': 'secret.env\n', 'secret.env': secret });
  expect(await scan(root)).toEqual([]);
  expect(await scan(path.join(root, 'secret.env'))).toHaveLength(1);
});

test("scanning a subdirectory of a repository applies the repository root's .gitignore", async () => {
  const root = tree({ '.git/HEAD': 'ref: refs/heads/main\n', '.gitignore': 'sub/generated/\n', 'sub/generated/x.ts': forgeSecret('prod'), 'sub/real.ts': forgeSecret('prod') });
  expect((await scan(path.join(root, 'sub'))).map((f) => path.relative(root, f.file))).toEqual(['sub/real.ts']);
});

describe('the CLI', () => {
  test('exits 1 and prints file:line: <masked> for each key, and never the secret', async () => {
    const secret = forgeSecret('root');
    const root = tree({ 'x/y.yaml': `a: 1\napi_key: '${secret}'\n`, 'clean.txt': 'ok\n' });
    const r = await runCli(['scan', root], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${path.join(root, 'x/y.yaml')}:2: ${masked(secret)}\n`);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stderr).toContain('1 key found');
  });

  test('exits 0 with no output when nothing is found', async () => {
    const root = tree({ 'a.txt': `ak_prod_${randomBase62(49)}\n` });
    expect(await runCli(['scan', root], {})).toMatchObject({ code: 0, stdout: '' });
  });

  test.each([
    ['no path', [], 'give at least one'],
    ['a path that does not exist', ['/nonexistent/kw-scan'], 'no such file or directory'],
    ['an unknown option', ['--frobnicate', '.'], 'unknown option'],
    ['a --report value that is not a URL', ['--report', 'not a url', '.'], '--report'],
  ])('exits 2 for bad usage: %s', async (_label, args, message) => {
    const r = await runCli(['scan', ...args], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('--progress prints a line every 1000 files on stderr; without it (and no terminal) nothing', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2100; i++) files[`d${i % 7}/f${i}.txt`] = 'x\n';
    const root = tree(files);
    const withProgress = await runCli(['scan', '--progress', root], {});
    expect(withProgress.code).toBe(0);
    expect(withProgress.stderr.match(/\d+ files scanned/g)).toEqual(['1000 files scanned', '2000 files scanned']);
    const quiet = await runCli(['scan', root], {});
    expect(quiet.stderr).toBe('');
  });
});

describe('--report', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ app: { prefix: isolatedPrefix('scan') } });
  });
  afterAll(() => h.close());

  test('posts the keys found to a running Keywarden, which revokes them; the scan still exits 1', async () => {
    const acct = await h.newAccount('scan-report');
    const leaked = await createKey(h, acct.secret, { name: 'committed', type: 'PRODUCTION' });
    const safe = await createKey(h, acct.secret, { name: 'safe', type: 'PRODUCTION' });
    const root = tree({ 'deploy/.env': `KEY=${leaked.secret}\n`, 'deploy/notes.md': `see ${breakChecksum(safe.secret)}\n`, 'copy.env': leaked.secret });
    const r = await runCli(['scan', '--report', h.url, root], {});
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).toContain('reported 1 distinct key');

    const until = Date.now() + 5000;
    let row = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: leaked.key.id } });
    while (row.status !== 'REVOKED' && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 25));
      row = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: leaked.key.id } });
    }
    expect(row).toMatchObject({ status: 'REVOKED', revokedReason: 'leaked (keywarden-scan)' });
    expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: safe.key.id } })).status).toBe('ACTIVE');
    const events = await h.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, kind: 'KEY_LEAKED' } });
    expect(events.map((e) => [e.keyId, (e.details as any).source])).toEqual([[leaked.key.id, 'keywarden-scan']]);
  });

  test('a server that refuses the report makes the scan exit 2, naming the status', async () => {
    const root = tree({ 'k.env': forgeSecret('prod') });
    const r = await runCli(['scan', '--report', `${h.url}/nowhere/`, root], {});
    // The path is completed to /nowhere/v1/keys/leaked, which the server does not route.
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('HTTP 404');
  });
});
