import os from 'node:os';
import { benchForward } from './forward';
import { benchGateway } from './gateway';
import { benchGraphql } from './graphql';
import { table } from './lib';
import { benchLimitsRedis } from './limits-redis';
import { benchMemory } from './memory';
import { benchScan } from './scan';
import { benchVerify } from './verify';
import { benchVerifyLeased } from './verify-leased';
import { benchWebhooks } from './webhooks';

// `npm run bench`: every benchmark, against real PostgreSQL and Redis on this machine, each
// printing its measure next to a baseline measured in the same run. BENCH_ONLY=verify,gateway
// runs a subset; BENCH_DURATION sets seconds per load run; BENCH_MEMORY_VERIFICATIONS the
// memory run's length (default 1,000,000).

const SUITES: Record<string, { title: string; run: () => Promise<{ rows: (string | number)[][] }> }> = {
  verify: { title: 'Verify (POST /v1/keys/verify, cached key, two rate windows + quota)', run: () => benchVerify({ duration: Number(process.env.BENCH_DURATION ?? 10) }) },
  leased: {
    title: 'Verify, RATE_LIMIT_MODE exact and leased (cached key, two rate windows, no quota)',
    run: () => benchVerifyLeased({ duration: Number(process.env.BENCH_DURATION ?? 10) }),
  },
  redis: {
    title: 'Limits in Redis (own redis-server): script usec and Redis CPU per verification, key only and key with identity + credits',
    run: () => benchLimitsRedis({ duration: Number(process.env.BENCH_DURATION ?? 10), verifications: Number(process.env.BENCH_REDIS_VERIFICATIONS ?? 10_000) }),
  },
  gateway: { title: 'Gateway (POST through /v1/agents/:id/* against the same upstream directly and through bare proxies)', run: () => benchGateway({ duration: Number(process.env.BENCH_DURATION ?? 10) }) },
  forward: {
    title: 'Forward auth behind nginx (auth_request to /v1/auth/forward against nginx proxying alone, same nginx, same upstream)',
    run: () => benchForward({ duration: Number(process.env.BENCH_DURATION ?? 10) }),
  },
  webhooks: {
    title: 'Webhook deliveries (keywarden worker against a bare signed-POST loop)',
    run: () => benchWebhooks({ deliveries: Number(process.env.BENCH_DELIVERIES ?? 5000) }) as Promise<{ rows: (string | number)[][] }>,
  },
  graphql: { title: 'GraphQL keys(first: N) with parent, children, usage', run: () => benchGraphql() },
  scan: { title: 'Expiry-warning scan', run: () => benchScan() },
  memory: {
    title: 'Memory of one API process',
    run: () => benchMemory({ verifications: Number(process.env.BENCH_MEMORY_VERIFICATIONS ?? 1_000_000), keys: Number(process.env.BENCH_MEMORY_KEYS ?? 10_000) }),
  },
};

async function main() {
  const only = process.env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cpus = os.cpus();
  process.stdout.write(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString()}\n\n`);
  for (const [name, suite] of Object.entries(SUITES)) {
    if (only && !only.includes(name)) continue;
    const r = await suite.run();
    process.stdout.write(`${suite.title}\n${table(r.rows)}\n\n`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  },
);
