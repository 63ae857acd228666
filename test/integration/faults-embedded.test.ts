import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
