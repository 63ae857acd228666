import { Client } from 'pg';
import { dropRedisPrefix } from '../../bench/lib';
import { adminUrl } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const dbUrl = process.env.TEST_DATABASE_URL;
  if (dbUrl && !process.env.TEST_KEEP_DATABASE) {
    const name = new URL(dbUrl).pathname.slice(1);
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
  const prefix = process.env.KEYWARDEN_REDIS_PREFIX;
  if (prefix) await dropRedisPrefix(prefix);
}
