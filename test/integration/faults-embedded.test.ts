import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedStoreFailure } from '../../src/infra/data-dir';
import { runCli } from '../helpers/processes';

// The embedded store's lock after a crash (README, Reliability): a holder killed with SIGKILL
// leaves its lock behind; the next start takes it over at once and says so, while a holder
// that still runs is refused by name. Runs the compiled code as `keywarden` does.

jest.setTimeout(120_000);

const DB = path.join(__dirname, '..', '..', 'dist', 'src', 'infra', 'db.js');
const SCRIPT = `require(${JSON.stringify(DB)}).openDatabase({ dataDir: process.argv[1], migrate: false }).then(
  () => console.log('HELD ' + process.pid),
  (e) => { console.log('REFUSED ' + e.message); process.exit(3); },
);`;

function holder(dataDir: string) {
  const child = spawn(process.execPath, ['-e', SCRIPT, dataDir], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const settled = new Promise<string>((resolve, reject) => {
    const t = setInterval(() => {
      if (/HELD|REFUSED/.test(out)) {
        clearInterval(t);
        resolve(out);
      } else if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`exited: ${out}`));
      }
    }, 50);
  });
  return { child, settled, exited, output: () => out };
}

let dataDir: string;
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-fault-embedded-'));
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('a running holder is refused by name; a killed one leaves a lock the next start takes over at once, saying so', async () => {
  const a = holder(dataDir);
  expect(await a.settled).toMatch(/HELD/);
  const b = holder(dataDir);
  const refused = await b.settled;
  expect(refused).toContain(`REFUSED the embedded database at ${path.join(dataDir, 'pgdata')} is held by a running Keywarden process (process ${a.child.pid})`);
  expect(await b.exited).toBe(3);

  a.child.kill('SIGKILL');
  await a.exited;
  const c = holder(dataDir);
  try {
    const out = await c.settled;
    expect(out).toMatch(/HELD/);
    const notice = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => /no longer runs/.test(l.msg));
    expect(notice).toMatchObject({ level: 40, pid: a.child.pid });
    expect(notice.msg).toContain(`left by process ${a.child.pid}, which no longer runs`);
  } finally {
    c.child.kill('SIGKILL');
    await c.exited;
  }
});

// A full disk and a read-only data directory: real ones. As root (where permissions do not stop
// writes) a small tmpfs is mounted for each; otherwise the read-only case takes away write
// permission, and the full disk, which needs a mount, is left to root runs.

const root = process.getuid?.() === 0;

interface Scratch {
  dir: string;
  remove(): void;
}

/** An empty directory on a tmpfs of `size` (root), mounted read-only when asked. */
function scratchDir(opts: { size: string; readOnly?: boolean }): Scratch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-scratch-'));
  if (root) execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.size}${opts.readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  else if (opts.readOnly) fs.chmodSync(dir, 0o555);
  return {
    dir,
    remove() {
      if (root) execFileSync('umount', [dir]);
      else fs.chmodSync(dir, 0o755);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` to the last byte. */
function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

const oneLine = (stderr: string) => stderr.trim().split('\n');

describe('a data directory that cannot be written', () => {
  const noDatabase = { DATABASE_URL: undefined, KEYWARDEN_ENCRYPTION_KEY: undefined };

  test('an empty read-only data directory: one line naming it and the problem, exit 1, no stack trace', async () => {
    const s = scratchDir({ size: '1M', readOnly: true });
    try {
      // `api` writes the generated encryption key first; `bootstrap` goes straight to the store.
      const api = await runCli(['api'], { ...noDatabase, KEYWARDEN_DATA_DIR: s.dir, PORT: '0' });
      expect(api.code).toBe(1);
      expect(oneLine(api.stderr)).toEqual([expect.stringContaining(`KEYWARDEN_DATA_DIR=${s.dir} is not writable`)]);
      const boot = await runCli(['bootstrap', '--account', 'x'], { ...noDatabase, KEYWARDEN_DATA_DIR: s.dir });
      expect(boot.code).toBe(1);
      expect(oneLine(boot.stderr)).toEqual([expect.stringContaining(`KEYWARDEN_DATA_DIR=${s.dir} is not writable`)]);
      expect(boot.stderr).not.toMatch(/\n\s+at /);
    } finally {
      s.remove();
    }
  });

  (root ? test : test.skip)('a full disk at start: one line saying the disk is full (ENOSPC) and naming the directory', async () => {
    const s = scratchDir({ size: '1M' });
    try {
      fill(s.dir);
      const boot = await runCli(['bootstrap', '--account', 'x'], { ...noDatabase, KEYWARDEN_DATA_DIR: s.dir });
      expect(boot.code).toBe(1);
      expect(oneLine(boot.stderr)).toEqual([expect.stringMatching(/the disk holding it is full \(ENOSPC/)]);
      expect(boot.stderr).toContain(`KEYWARDEN_DATA_DIR=${s.dir}`);
      // PGlite's own word for a full disk under an existing store names neither; the same answer.
      const explained = embeddedStoreFailure(new Error('PGlite failed to initialize properly'), s.dir);
      expect(explained?.message).toMatch(/the disk holding it is full \(ENOSPC/);
    } finally {
      s.remove();
    }
  });
});
