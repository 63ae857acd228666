import { Client } from 'pg';
import { migratePostgres, openDatabase } from '../src/infra/db';
import { createAccountWithMasterKey } from '../src/keys/bootstrap';
import { warnExpiringKeys } from '../src/keys/scheduled';
import { freshDatabase, runMain } from './lib';

// The expiry-warning scan must cost in proportion to the keys that match, not to all keys:
// time it with the same 1,000 matching keys among 10k and among 100k keys (1% of the latter).

async function timeScan(total: number, expiring: number): Promise<{ ms: number; emitted: number }> {
  const fresh = await freshDatabase();
  await migratePostgres(fresh.url, { info: () => {} });
  const pg = new Client({ connectionString: fresh.url });
  await pg.connect();
  const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '/nonexistent', migrate: false });
  try {
    const acct = await createAccountWithMasterKey(db, 'scan-bench');
    // Rows straight in SQL: the scan's cost is the subject, not key creation.
    await pg.query(
      `INSERT INTO "ApiKey" (id, "accountId", name, digest, start, type, permission, "updatedAt", "expiresAt")
       SELECT gen_random_uuid(), $1, 'k' || g, md5(random()::text) || md5(g::text), 'ak_prod_x', 'PRODUCTION', 'EXECUTE', now(),
              CASE WHEN g % $3 = 0 THEN now() + interval '5 days' ELSE now() + interval '300 days' END
       FROM generate_series(1, $2) g`,
      [acct.accountId, total, Math.round(total / expiring)],
    );
    await pg.query('ANALYZE "ApiKey"');
    const started = process.hrtime.bigint();
    const emitted = await warnExpiringKeys(db, [14, 7, 1]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms, emitted };
  } finally {
    await pg.end();
    await db.close();
    await fresh.drop();
  }
}

export async function benchScan(): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const small = await timeScan(10_000, 1_000);
  const large = await timeScan(100_000, 1_000);
  const rows: (string | number)[][] = [
    ['expiry-warning scan, 1,000 keys expiring soon', 'among 10k keys', 'among 100k keys', 'ratio'],
    ['warnings emitted', small.emitted, large.emitted, (large.emitted / small.emitted).toFixed(1)],
    ['scan time (ms)', small.ms.toFixed(0), large.ms.toFixed(0), (large.ms / small.ms).toFixed(1)],
  ];
  return { rows, summary: { perMatchSmall: small.ms / small.emitted, perMatchLarge: large.ms / large.emitted } };
}

if (require.main === module) runMain('Expiry scan', () => benchScan());
