import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { openDatabase } from '../../src/infra/db';
import { checkSql } from '../helpers/db-sql-check';

// db.sql is the driver path next to Prisma (the webhook batches use it). Whatever the process's
// time zone, it must read a stored timestamp as the same instant Prisma reads, pass arrays (nulls
// and quotes included) as PostgreSQL arrays, and count its statements: on PostgreSQL and on the
// embedded store alike.

jest.setTimeout(60_000);

const zone = process.env.TZ;
afterAll(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

test('db.sql on PostgreSQL reads timestamps as the instants Prisma stores, whatever the local zone, passes arrays intact and is counted', async () => {
  const db = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL!, dataDir: '/nonexistent', migrate: false });
  try {
    await checkSql(db);
  } finally {
    await db.close();
  }
});

test('db.sql on the embedded store does the same (in a child process: PGlite does not load in jest)', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-sql-'));
  try {
    const script = path.join(__dirname, '..', 'helpers', 'db-sql-check.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', script, dataDir], { env: { ...process.env, LOG_LEVEL: 'warn' } });
    expect(stdout).toContain('db.sql checks passed');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an idle pooled connection ended by the server (a restart, an administrator) is replaced: the process does not crash and the next statements work', async () => {
  const db = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL!, dataDir: '/nonexistent', migrate: false });
  const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL! });
  await admin.connect();
  try {
    // Through db.sql first: Prisma has not connected, so none of its listeners is on the pool yet.
    // Other test files share this database: end only the pool's own connection, found by asking it.
    const [{ pid }] = await db.sql<{ pid: number }>({ name: 'test-backend-pid', text: 'SELECT pg_backend_pid() AS "pid"' }, []);
    const ended = await admin.query('SELECT pg_terminate_backend($1) AS "ended"', [pid]);
    expect(ended.rows).toEqual([{ ended: true }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await db.sql({ name: 'test-select-one', text: 'SELECT 1 AS "one"' }, [])).toEqual([{ one: 1 }]);
    expect(await db.prisma.account.count()).toBeGreaterThanOrEqual(0);
  } finally {
    await admin.end();
    await db.close();
  }
});
