import { Client } from 'pg';
import Redis from 'ioredis';
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
  if (prefix) {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
}
