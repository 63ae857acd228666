import crypto from 'node:crypto';
import { Client } from 'pg';
import Redis from 'ioredis';
import { migratePostgres } from '../../src/infra/db';

// One fresh PostgreSQL database and one Redis prefix per test run, so runs never collide.
// TEST_DATABASE_ADMIN_URL names a database to connect to for CREATE DATABASE.

export function adminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export default async function globalSetup(): Promise<void> {
  // Tests that start Keywarden as a process run bin/keywarden.js, which runs dist/ as users do:
  // compile it from the sources under test first (about a second).
  const { build } = require('../../scripts/build') as { build(): Promise<number> };
  await build();

  const suffix = `${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
  const dbName = `kw_test_${suffix}`;
  const admin = new Client({ connectionString: adminUrl() });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`tests need PostgreSQL at TEST_DATABASE_ADMIN_URL=${adminUrl()}: ${(err as Error).message}`);
  }
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${dbName}`;
  process.env.TEST_DATABASE_URL = url.toString();
  await migratePostgres(url.toString(), { info: () => {} });

  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need Redis at REDIS_URL=${redisUrl}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  process.env.REDIS_URL = redisUrl;
  process.env.KEYWARDEN_REDIS_PREFIX = `kwtest-${suffix}`;
}
