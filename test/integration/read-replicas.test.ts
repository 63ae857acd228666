import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migratePostgres, openDatabase, type Database } from '../../src/infra/db';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { isolatedPrefix } from '../helpers/harness';
import { runCli, spawnCli, type Spawned } from '../helpers/processes';
import { freePort, startOwnPostgres, startOwnReplica, type OwnPostgres } from '../helpers/servers';
import { TEST_ENCRYPTION_KEY, eventually } from '../helpers/webhooks';

// DATABASE_REPLICA_URLS with a real streaming replica: a primary made by initdb, a hot standby
// made from it by `pg_basebackup -R`, both on free ports and logging every statement. A
// `keywarden api` reads lists and reports on the replica and writes on the primary; a key
// verified right after it was created is found (verify's cache misses read the primary).
// Pausing the standby's WAL replay makes the lag certain rather than a race.

jest.setTimeout(180_000);

const DB = 'kw_replicas';
let primary: OwnPostgres;
let replica: OwnPostgres;
let db: Database;
let api: Spawned;
let apiUrl: string;
let master: string;
let replicaAdmin: Client;

beforeAll(async () => {
  primary = await startOwnPostgres({ settings: ['log_statement=all'] });
  const url = await primary.createDatabase(DB);
  await migratePostgres(url, { info: () => {} });
  db = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', migrate: false });
  // A connection opened first: on a busy machine, connecting to the new server could use up the
  // 2 s an interactive transaction waits to start.
  await db.prisma.$queryRaw`SELECT 1`;
  master = (await createAccountWithMasterKey(db, 'replicas')).secret;
  replica = await startOwnReplica(primary, { settings: ['log_statement=all'] });
  replicaAdmin = new Client({ connectionString: replica.adminUrl });
  await replicaAdmin.connect();
  await caughtUp();
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  api = spawnCli(['api'], {
    DATABASE_URL: url,
    DATABASE_REPLICA_URLS: replica.urlOf(DB),
    PORT: String(port),
    KEYWARDEN_REDIS_PREFIX: isolatedPrefix('replicas'),
    KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    KEYWARDEN_BOOTSTRAP: 'false',
  });
  await api.waitFor(/Keywarden API listening/, 120_000);
});

afterAll(async () => {
  if (api && api.child.exitCode === null && api.child.signalCode === null) {
    api.child.kill('SIGTERM');
    await api.exited;
  }
  await replicaAdmin?.end().catch(() => {});
  await db?.close().catch(() => {});
  await replica?.destroy();
  await primary?.destroy();
});

/** Waits until the standby has replayed everything the primary has written so far. */
async function caughtUp(): Promise<void> {
  const p = new Client({ connectionString: primary.adminUrl });
  await p.connect();
  try {
    const { rows } = await p.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await eventually(async () => (await replicaAdmin.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [rows[0].lsn])).rows[0].ok, 30_000, 'the replica caught up');
  } finally {
    await p.end();
  }
}

/** The standby stops (or resumes) applying what it receives: the primary's writes wait there unseen. */
async function replay(on: boolean): Promise<void> {
  await replicaAdmin.query(on ? 'SELECT pg_wal_replay_resume()' : 'SELECT pg_wal_replay_pause()');
}

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${apiUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` }, body: JSON.stringify({ query, variables }) });
  const json = (await res.json()) as any;
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data;
}

async function verifyCode(key: string): Promise<string> {
  const res = await fetch(`${apiUrl}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  return ((await res.json()) as { code: string }).code;
}

/** The statements a server logs from now until `done` returns, one string per logged statement. */
async function statementsDuring(server: OwnPostgres, done: () => Promise<unknown>): Promise<string[]>;
async function statementsDuring(server: OwnPostgres[], done: () => Promise<unknown>): Promise<string[][]>;
async function statementsDuring(servers: OwnPostgres | OwnPostgres[], done: () => Promise<unknown>): Promise<string[] | string[][]> {
  const list = Array.isArray(servers) ? servers : [servers];
  const marks = list.map((s) => fs.statSync(s.logFile).size);
  await done();
  const out = list.map((s, i) => {
    const text = fs.readFileSync(s.logFile, 'utf8').slice(marks[i]);
    return text.split(/\n(?=\S)/).filter((l) => /LOG: {2}(statement|execute [^:]*):/.test(l));
  });
  return Array.isArray(servers) ? out : out[0];
}

const keysList = (names: string[]) => gql(`{ keys(first: 100) { edges { node { id name } } } }`).then((d) => d.keys.edges.map((e: any) => e.node.name).filter((n: string) => names.includes(n)));

test('with replay paused, a new key is written on the primary, verifies at once, is found by id and revoked, but the list (the replica) does not show it yet', async () => {
  await replay(false);
  try {
    const [onPrimary, onReplica] = await statementsDuring([primary, replica], async () => {
      const made = await gql(`mutation { createKey(input: { name: "fresh", type: PRODUCTION }) { secret key { id } } }`);
      // Verify's cache miss reads the primary: the standby has not seen the key.
      expect(await verifyCode(made.createKey.secret)).toBe('VALID');
      // A read by id is not a list: the primary answers it.
      expect((await gql(`query($id: ID!) { key(id: $id) { name } }`, { id: made.createKey.key.id })).key.name).toBe('fresh');
      // The list is the replica's, which has not replayed the insert.
      expect(await keysList(['fresh'])).toEqual([]);
      // A mutation's reads (in its transaction) are the primary's: revoking a key only it has works.
      await gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: made.createKey.key.id });
    });
    expect(onPrimary.some((s) => /INSERT INTO "public"\."ApiKey"/.test(s))).toBe(true);
    expect(onPrimary.some((s) => /UPDATE "public"\."ApiKey"/.test(s))).toBe(true);
    expect(onReplica.some((s) => /SELECT .* FROM "public"\."ApiKey" .*ORDER BY "public"\."ApiKey"\."createdAt" DESC/.test(s))).toBe(true);
    expect(onPrimary.some((s) => /SELECT .* FROM "public"\."ApiKey" .*ORDER BY "public"\."ApiKey"\."createdAt" DESC/.test(s))).toBe(false);
    expect(onReplica.filter((s) => /\b(INSERT|UPDATE|DELETE)\b/.test(s))).toEqual([]);
  } finally {
    await replay(true);
  }
  // Once replayed, the list shows it.
  await caughtUp();
  expect(await keysList(['fresh'])).toEqual(['fresh']);
});

test('usage, security and audit reads are served by the replica', async () => {
  const from = new Date(Date.now() - 86_400_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const [onPrimary, onReplica] = await statementsDuring([primary, replica], async () => {
    const usage = await gql(`query($from: DateTime!, $to: DateTime!) { usageReport(from: $from, to: $to) { rowCount } }`, { from, to });
    expect(usage.usageReport.rowCount).toBeGreaterThanOrEqual(0);
    await gql(`query($from: DateTime!, $to: DateTime!) { securityReport(from: $from, to: $to) { rowCount } }`, { from, to });
    const audit = await gql(`{ auditEvents(first: 5) { edges { node { action } } } }`);
    expect(audit.auditEvents.edges.length).toBeGreaterThan(0);
  });
  // Each report's own query, told apart by its order (the API's other work may read these tables too).
  const reportQueries = {
    usage: /FROM "public"\."UsageRollup" .*ORDER BY "public"\."UsageRollup"\."keyId" ASC/,
    security: /FROM "public"\."SecurityEvent" .*ORDER BY "public"\."SecurityEvent"\."createdAt" ASC/,
    audit: /FROM "public"\."AuditEvent" .*ORDER BY "public"\."AuditEvent"\."sequence" DESC/,
  };
  for (const [report, query] of Object.entries(reportQueries)) {
    expect({ report, onReplica: onReplica.filter((s) => query.test(s)).length }).toEqual({ report, onReplica: 1 });
    expect({ report, onPrimary: onPrimary.filter((s) => query.test(s)) }).toEqual({ report, onPrimary: [] });
  }
});

describe('bad DATABASE_REPLICA_URLS: one line naming it, exit 1, nothing started', () => {
  test.each([
    ['a value that does not parse', 'not a url'],
    ['a scheme other than PostgreSQL', 'mysql://kw:s3cret@replica/kw'],
  ])('%s', async (_what, value) => {
    const r = await runCli(['api'], { DATABASE_URL: primary.urlOf(DB), DATABASE_REPLICA_URLS: value, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false' });
    expect(r.code).toBe(1);
    const named = r.stderr.split('\n').filter((l) => l.includes('DATABASE_REPLICA_URLS'));
    expect(named).toHaveLength(1);
    expect(r.stderr).not.toContain('s3cret');
    expect(r.stdout + r.stderr).not.toMatch(/listening/);
  });

  test('with the embedded store (no DATABASE_URL)', async () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kw-replica-embedded-')), 'data');
    const r = await runCli(['api'], { DATABASE_URL: undefined, DATABASE_REPLICA_URLS: replica.urlOf(DB), KEYWARDEN_DATA_DIR: dataDir, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false' });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.includes('DATABASE_REPLICA_URLS'))).toHaveLength(1);
    expect(r.stderr).toContain('embedded');
    // Nothing was created: the embedded store was never opened.
    expect(fs.existsSync(dataDir)).toBe(false);
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });
});
