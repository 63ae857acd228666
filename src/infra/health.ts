import type Redis from 'ioredis';
import type { Database } from './db';

// /readyz for the API and for a worker-only process's own listener: ready while PostgreSQL and
// Redis answer, and not while the process drains on SIGTERM (load balancers and Kubernetes stop
// sending it new work before its listener closes).

export interface Readiness {
  ready: boolean;
  database: string;
  redis: string;
  draining?: true;
}

export async function readiness(db: Database, redis: Redis, draining: () => boolean = () => false): Promise<Readiness> {
  if (draining()) return { ready: false, database: 'not checked', redis: 'not checked', draining: true };
  const [database, redisState] = await Promise.all([
    db.prisma.$queryRawUnsafe('SELECT 1').then(
      () => 'ok',
      (e: Error) => `error: ${e.message}`,
    ),
    Promise.race([
      redis.ping().then(
        () => 'ok',
        (e: Error) => `error: ${e.message}`,
      ),
      new Promise<string>((r) => setTimeout(() => r('error: timeout'), 2000).unref()),
    ]),
  ]);
  return { ready: database === 'ok' && redisState === 'ok', database, redis: redisState };
}
