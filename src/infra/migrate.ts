import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { PACKAGE_ROOT } from './paths';

// Applies prisma/migrations/*/migration.sql in order and records them in Prisma's own
// `_prisma_migrations` table (same columns, same checksum), so `prisma migrate status` agrees with it.
// It runs in-process because the Prisma CLI's migration engine is a native download this
// deployment may not have, and because it must also serve the embedded store.
// Concurrent starts are serialized by a PostgreSQL advisory lock; each migration runs in its own
// transaction, so a failure leaves the database at the previous migration.

export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  exec(sql: string): Promise<void>;
  lock(): Promise<void>;
  unlock(): Promise<void>;
}

export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'prisma', 'migrations');

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

export async function applyMigrations(db: SqlRunner, log: Pick<Logger, 'info'>, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = listMigrations(dir);
  await db.lock();
  try {
    await db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const rows = await db.query('SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    const applied = new Map(rows.map((r) => [String(r.migration_name), String(r.checksum)]));
    const done: string[] = [];
    for (const m of migrations) {
      const seen = applied.get(m.name);
      if (seen !== undefined) {
        if (seen !== m.checksum) {
          throw new Error(`migration ${m.name} was changed after it was applied (checksum differs); add a new migration instead`);
        }
        continue;
      }
      await db.exec('BEGIN');
      try {
        await db.exec(m.sql);
        await db.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at)
           VALUES ($1, $2, now(), $3, 1, now())`,
          [crypto.randomUUID(), m.checksum, m.name],
        );
        await db.exec('COMMIT');
      } catch (err) {
        await db.exec('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      done.push(m.name);
      log.info({ migration: m.name }, 'applied migration');
    }
    return done;
  } finally {
    await db.unlock();
  }
}

export interface MigrationState {
  name: string;
  /** changed: applied, but its file differs from what was applied (start-up refuses to run). */
  state: 'applied' | 'pending' | 'changed';
}

/** Every migration in the package and whether the database has it (`keywarden migrate --status`). */
export async function migrationStatus(query: SqlRunner['query'], dir = MIGRATIONS_DIR): Promise<MigrationState[]> {
  const [table] = await query(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`);
  const rows = table?.present ? await query('SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL') : [];
  const applied = new Map(rows.map((r) => [String(r.migration_name), String(r.checksum)]));
  return listMigrations(dir).map((m) => {
    const seen = applied.get(m.name);
    return { name: m.name, state: seen === undefined ? 'pending' : seen === m.checksum ? 'applied' : 'changed' };
  });
}
