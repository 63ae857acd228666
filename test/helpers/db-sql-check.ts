import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { openDatabase, type Database } from '../../src/infra/db';

// What db.sql must do on either store (test/integration/db-sql.test.ts). Plain assertions, so it
// also runs in a child process: the embedded store (PGlite) does not load inside jest's VM.

export async function checkSql(db: Database): Promise<void> {
  // Seven hours off UTC: a driver reading the column in local time would be seven hours out.
  process.env.TZ = 'America/Phoenix';
  const name = `sql-${crypto.randomUUID()}`;
  const createdAt = new Date('2026-03-04T05:06:07.089Z');
  const account = await db.prisma.account.create({ data: { name, createdAt } });
  const before = db.queryCount();

  const byId = { name: 'test-accounts-by-id', text: 'SELECT "id", "name", "createdAt" FROM "Account" WHERE "id" = ANY($1::uuid[])' };
  assert.deepEqual(await db.sql(byId, [[account.id, crypto.randomUUID()]]), [{ id: account.id, name, createdAt }]);
  assert.deepEqual((await db.prisma.account.findUniqueOrThrow({ where: { id: account.id } })).createdAt, createdAt);
  // The same prepared statement again, and a text array with a null, quotes, a backslash, braces and a comma.
  assert.equal((await db.sql(byId, [[account.id]])).length, 1);
  // Read back element by element: PGlite's parser returns a null element of an array result as "NULL".
  const texts = ['plain', null, 'a "quoted" \\ {brace}, comma'];
  const echo = await db.sql({ name: 'test-echo-texts', text: 'SELECT cardinality($1::text[]) AS "n", ($1::text[])[1] AS "a", ($1::text[])[2] IS NULL AS "nullAt2", ($1::text[])[3] AS "c"' }, [texts]);
  assert.deepEqual(echo, [{ n: 3, a: texts[0], nullAt2: true, c: texts[2] }]);
  // Three db.sql statements and Prisma's findUnique.
  assert.equal(db.queryCount() - before, 4);
}

if (require.main === module) {
  (async () => {
    const db = await openDatabase({ dataDir: process.argv[2] });
    try {
      assert.equal(db.kind, 'embedded');
      await checkSql(db);
    } finally {
      await db.close();
    }
    process.stdout.write('db.sql checks passed\n');
  })().catch((err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
