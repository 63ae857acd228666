import fs from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { dataDirProblem, embeddedStoreFailure } from './data-dir';
import { applyMigrations, type SqlRunner } from './migrate';
import { logger } from './logger';

/** A transaction client: what domain functions receive inside `db.$transaction`. */
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

export interface Database {
  prisma: PrismaClient;
  kind: 'postgresql' | 'embedded';
  /** Where the data lives, for messages (URL without password, or the embedded directory). */
  location: string;
  /**
   * One statement with $1, $2... parameters, straight through the driver. For the few statements
   * on the webhook delivery path, where Prisma's own work per query cost twice the driver's
   * (measured: about 1,100-1,600 against 400-540 µs of CPU to load 13 deliveries). `name` makes
   * it a prepared statement, parsed once per connection. Rows come back as Prisma gives these
   * column types: timestamp(3) as UTC instants, jsonb parsed, uuid, enums and text as strings.
   */
  sql<T = Record<string, unknown>>(statement: { name: string; text: string }, values: unknown[]): Promise<T[]>;
  /** Number of queries sent since start: benchmarks and tests prove the cached paths issue none. */
  queryCount(): number;
  close(): Promise<void>;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export class EmbeddedStoreBusyError extends Error {}

/**
 * Opens the database and applies pending migrations. With a DATABASE_URL it is PostgreSQL through
 * @prisma/adapter-pg; without one, PGlite (embedded PostgreSQL) under `<dataDir>/pgdata`, which one
 * process at a time may hold: a lock file says which.
 */
type QueryCounter = { bump(): void; count(): number; watch(client: PrismaClient): PrismaClient };

// Counts SQL statements sent (Prisma's query events), not client operations: one findMany
// with relations may send several.
function queryCounter(): QueryCounter {
  let queries = 0;
  return {
    bump: () => {
      queries++;
    },
    count: () => queries,
    watch: (client) => {
      (client as unknown as { $on(e: 'query', cb: () => void): void }).$on('query', () => {
        queries++;
      });
      return client;
    },
  };
}

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; migrate?: boolean }): Promise<Database> {
  const counter = queryCounter();
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.migrate !== false, counter);
  return openEmbedded(path.join(opts.dataDir, 'pgdata'), opts.migrate !== false, counter);
}

async function openPostgres(url: string, migrate: boolean, counter: QueryCounter): Promise<Database> {
  if (migrate) await migratePostgres(url);
  // One pool for Prisma and for db.sql, so the connection limit is the process's.
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection that fails (a server restart, an administrator ending it) is dropped from
  // the pool, which opens another when needed. Unheard, the pool's error would end the process.
  // (Once closing, connections still shutting down may see such errors too: nothing to report.)
  let closing = false;
  pool.on('error', (err) => {
    if (!closing) logger.warn({ err: err.message }, 'an idle PostgreSQL connection failed; the pool replaces it when needed');
  });
  const base = new PrismaClient({ adapter: new PrismaPg(pool), log: [{ emit: 'event', level: 'query' }] });
  return {
    prisma: counter.watch(base),
    kind: 'postgresql',
    location: redactUrl(url),
    sql: async <T>(statement: { name: string; text: string }, values: unknown[]) => {
      counter.bump();
      return (await pool.query({ ...statement, values, types: utcTimestamps })).rows as T[];
    },
    queryCount: counter.count,
    close: async () => {
      closing = true;
      await base.$disconnect();
      await pool.end();
    },
  };
}

/** Whether a process with this id runs on this machine. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process at a time holds the embedded store: a lock directory (proper-lockfile, refreshed
 * every 5 s) and, beside it, the holder's process id. A lock whose holder no longer runs (it
 * crashed or was killed) is taken over at once, saying so, rather than after the 15 s it takes
 * to go stale; one whose holder runs is refused, naming it.
 */
async function lockEmbeddedStore(dir: string): Promise<() => Promise<void>> {
  const lockfile = await import('proper-lockfile');
  const pidFile = `${dir}.lock.pid`;
  const holderId = () => Number.parseInt(readOr(pidFile, ''), 10);
  const lock = () => lockfile.lock(dir, { stale: 15000, update: 5000, realpath: false });
  let release: () => Promise<void>;
  try {
    release = await lock();
  } catch (err) {
    if ((err as { code?: string }).code !== 'ELOCKED') throw err;
    const holder = holderId();
    // A holder that has only just taken the lock writes its id right after: look twice.
    const stale = Number.isInteger(holder) && holder !== process.pid && !processAlive(holder) && (await settled(200)) && holderId() === holder;
    if (!stale) {
      const who = Number.isInteger(holder) ? ` (process ${holder})` : '';
      throw new EmbeddedStoreBusyError(`the embedded database at ${dir} is held by a running Keywarden process${who}; stop it first, or set DATABASE_URL to use PostgreSQL`);
    }
    logger.warn({ dir, pid: holder }, `the embedded database's lock was left by process ${holder}, which no longer runs (a crash?); taking it over`);
    // proper-lockfile releases only its own locks: the dead holder's directory goes by hand.
    fs.rmSync(`${dir}.lock`, { recursive: true, force: true });
    release = await lock();
  }
  fs.writeFileSync(pidFile, String(process.pid));
  return release;
}

function settled(ms: number): Promise<true> {
  return new Promise((resolve) => setTimeout(() => resolve(true), ms));
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** The store's directory, created and locked; a data directory that cannot be written says so in one line. */
async function prepareEmbedded(dir: string): Promise<() => Promise<void>> {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return await lockEmbeddedStore(dir);
  } catch (err) {
    throw dataDirProblem(err, path.dirname(dir)) ?? err;
  }
}

/** PGlite started (and migrated) on `dir`; on failure the lock is let go and a full or read-only disk is named. */
async function startPGlite(dir: string, migrate: boolean, release: () => Promise<void>) {
  const { PGlite } = await import('@electric-sql/pglite');
  try {
    const pglite = new PGlite(dir);
    await pglite.waitReady;
    if (migrate) await applyMigrations(pgliteRunner(pglite), logger);
    return pglite;
  } catch (err) {
    await release().catch(() => {});
    throw embeddedStoreFailure(err, dir) ?? err;
  }
}

async function openEmbedded(dir: string, migrate: boolean, counter: QueryCounter): Promise<Database> {
  const release = await prepareEmbedded(dir);
  const pglite = await startPGlite(dir, migrate, release);
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const base = new PrismaClient({ adapter: new PrismaPGlite(pglite), log: [{ emit: 'event', level: 'query' }] });
  return {
    prisma: counter.watch(base),
    kind: 'embedded',
    location: dir,
    sql: async <T>(statement: { name: string; text: string }, values: unknown[]) => {
      counter.bump();
      return (await pglite.query<T>(statement.text, values, { parsers: { [TIMESTAMP_OID]: parseUtcTimestamp } })).rows;
    },
    queryCount: counter.count,
    close: async () => {
      await base.$disconnect();
      await pglite.close();
      await release();
    },
  };
}

// Prisma keeps DateTime columns as timestamp(3) without time zone, holding UTC. The drivers read
// such a value in the process's local zone; these read it as UTC, as Prisma does.
const TIMESTAMP_OID = 1114;
function parseUtcTimestamp(value: string): Date {
  return new Date(`${value.replace(' ', 'T')}Z`);
}
const utcTimestamps: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === TIMESTAMP_OID ? parseUtcTimestamp : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

/** Applies pending migrations to the PostgreSQL at `url` (test set-up and benchmarks use it too). */
export async function migratePostgres(url: string, log: Pick<typeof logger, 'info'> = logger): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await applyMigrations(pgRunner(client), log);
  } finally {
    await client.end();
  }
}

function pgRunner(client: pg.Client): SqlRunner {
  return {
    query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
    exec: async (sql) => {
      await client.query(sql);
    },
    lock: async () => {
      await client.query('SELECT pg_advisory_lock(72707370)');
    },
    unlock: async () => {
      await client.query('SELECT pg_advisory_unlock(72707370)');
    },
  };
}

function pgliteRunner(db: import('@electric-sql/pglite').PGlite): SqlRunner {
  return {
    query: async (sql, params) => (await db.query(sql, params as unknown[])).rows as Record<string, unknown>[],
    exec: async (sql) => {
      await db.exec(sql);
    },
    // One process holds the embedded store (see the lock file above): nothing to serialize against.
    lock: async () => {},
    unlock: async () => {},
  };
}
