import os from 'node:os';
import { benchGateway } from './gateway';
import { table } from './lib';
import { benchVerify } from './verify';

// `npm run bench`: every benchmark, against real PostgreSQL and Redis on this machine, each
// printing its measure next to a baseline measured in the same run.

async function main() {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const cpus = os.cpus();
  process.stdout.write(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString()}\n\n`);
  const verify = await benchVerify({ duration });
  process.stdout.write('Verify (POST /v1/keys/verify, cached key, two rate windows + quota)\n' + table(verify.rows) + '\n\n');
  const gateway = await benchGateway({ duration });
  process.stdout.write('Gateway (POST through /v1/agents/:id/* against the same upstream directly)\n' + table(gateway.rows) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  },
);
