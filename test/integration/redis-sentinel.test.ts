import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { type ApiFleet, rateLimitAcross, revokeAcross, startApiFleet } from '../helpers/api-fleet';
import { runCli } from '../helpers/processes';
import { freePort, startOwnRedis, type OwnRedis } from '../helpers/servers';
import { TEST_ENCRYPTION_KEY, eventually, isolatedDatabase, isolatedPrefix, type IsolatedDatabase } from '../helpers/webhooks';

// A real Sentinel set-up: a redis-server master and a `redis-server --sentinel` watching it, both on
// free ports. Two `keywarden api` processes are given only REDIS_SENTINELS and REDIS_SENTINEL_NAME
// (no REDIS_URL, whose default is the shared Redis): they find the master through the Sentinel,
// count a rate limit there across both, and hear each other's revocations. The same checks as
// the Redis Cluster test (test/helpers/api-fleet.ts).

jest.setTimeout(240_000);

const run = promisify(execFile);
const MASTER_NAME = 'kwmaster';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-sentinel-'));
let master: OwnRedis;
let sentinel: ChildProcess | undefined;
let sentinelPort: number;
let iso: IsolatedDatabase;
let secret: string;
let fleet: ApiFleet;
let prefix: string;

async function startSentinel(masterPort: number): Promise<void> {
  sentinelPort = await freePort();
  // A Sentinel rewrites its configuration file as it learns: one of its own, writable.
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(conf, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 1`, `sentinel down-after-milliseconds ${MASTER_NAME} 5000`, ''].join('\n'));
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await eventually(
    async () => {
      const out = await run('redis-cli', ['-p', String(sentinelPort), 'sentinel', 'get-master-addr-by-name', MASTER_NAME]).catch(() => ({ stdout: '' }));
      return out.stdout.includes(String(masterPort));
    },
    30_000,
    'the Sentinel names the master',
  );
}

beforeAll(async () => {
  master = await startOwnRedis();
  await startSentinel(master.port);
  iso = await isolatedDatabase('sentinel');
  secret = (await createAccountWithMasterKey(iso.db, 'sentinel')).secret;
  prefix = isolatedPrefix('sentinel');
  const env = {
    DATABASE_URL: iso.url,
    REDIS_URL: undefined,
    REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
    REDIS_SENTINEL_NAME: MASTER_NAME,
    KEYWARDEN_REDIS_PREFIX: prefix,
    KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    KEYWARDEN_BOOTSTRAP: 'false',
  };
  fleet = await startApiFleet({ count: 2, env, master: () => secret });
});

afterAll(async () => {
  await fleet?.stop();
  await iso?.drop();
  if (sentinel && sentinel.exitCode === null) {
    const exited = new Promise((r) => sentinel!.once('exit', r));
    sentinel.kill('SIGTERM');
    await exited;
  }
  await master?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a rate limit of N per hour allows exactly N across both API processes, counted on the master the Sentinel names', async () => {
  const codes = await rateLimitAcross(fleet);
  expect(codes.filter((c) => c === 'VALID')).toHaveLength(6);
  expect(codes.slice(6).every((c) => c === 'RATE_LIMITED')).toBe(true);
  // The counters are on this test's master, which only the Sentinel told the APIs about.
  const { stdout } = await run('redis-cli', ['-p', String(master.port), '--scan', '--pattern', `${prefix}*`]);
  expect(stdout.trim().split('\n').filter(Boolean).length).toBeGreaterThan(0);
});

test('a revoke on one API process is honoured by the other (invalidation through the master)', async () => {
  expect(await revokeAcross(fleet)).toEqual({ before: 'VALID', after: 'REVOKED' });
});

test('a Sentinel that does not answer stops start-up with one line naming REDIS_SENTINELS', async () => {
  const closed = await freePort();
  const r = await runCli(['api'], { DATABASE_URL: iso.url, REDIS_URL: undefined, REDIS_SENTINELS: `127.0.0.1:${closed}`, REDIS_SENTINEL_NAME: MASTER_NAME, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(`REDIS_SENTINELS=127.0.0.1:${closed}`);
});
