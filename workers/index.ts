import type Redis from 'ioredis';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';

// BullMQ processors and job schedulers live here (webhook delivery, expiry warnings, rotation
// reminders, sweeps). The entry point exists so `keywarden worker` and `npm start` have their
// shape; the scheduled work arrives with the workers issue.

export interface Workers {
  close(): Promise<void>;
}

export async function startWorkers(_deps: { db: Database; redis: Redis; prefix: string }): Promise<Workers> {
  logger.info('workers started (no scheduled jobs yet)');
  return { close: async () => {} };
}
