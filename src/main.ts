import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from './config';
import { EmbeddedStoreBusyError, openDatabase } from './infra/db';
import { KeywardenError } from './infra/errors';
import { createLogger, setLogger } from './infra/logger';
import { RedisUnavailableError } from './infra/redis';
import { createAccountWithMasterKey } from './keys/lifecycle';
import { scanPaths } from './keys/scan';
import { start, type Role } from './app';

// CLI entry: start | api | worker | bootstrap | scan.

function die(err: unknown): never {
  if (err instanceof ConfigError || err instanceof RedisUnavailableError || err instanceof EmbeddedStoreBusyError || err instanceof KeywardenError) {
    process.stderr.write(`keywarden: ${err.message}\n`);
  } else {
    process.stderr.write(`keywarden: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
}

async function run(role: Role): Promise<void> {
  const running = await start(role);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`keywarden: ${signal} received, shutting down\n`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (err) => die(err),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function buildCli(): Command {
  const program = new Command('keywarden').description('API key manager for AI agents and workflows').showHelpAfterError();
  program.command('start', { isDefault: true }).description('API server and workers in one process').action(() => run('all').catch(die));
  program.command('api').description('API server only (scale out with several)').action(() => run('api').catch(die));
  program.command('worker').description('workers only (scale out with several)').action(() => run('worker').catch(die));
  program
    .command('bootstrap')
    .description('create an account and its first master key; prints the secret once')
    .requiredOption('--account <name>', 'account name')
    .addOption(new Option('--json', 'print {"accountId","keyId","secret"} on one line'))
    .action(async (opts: { account: string; json?: boolean }) => {
      try {
        const config = loadConfig();
        setLogger(createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
        const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
        try {
          const created = await createAccountWithMasterKey(db, opts.account);
          if (opts.json) process.stdout.write(JSON.stringify(created) + '\n');
          else {
            process.stdout.write(
              `Created account "${opts.account.trim()}" (${created.accountId}).\n` +
                `Master key ${created.keyId}, shown this once (only a digest is stored):\n\n${created.secret}\n`,
            );
          }
        } finally {
          await db.close();
        }
      } catch (err) {
        die(err);
      }
    });
  program
    .command('scan')
    .description('find Keywarden keys in files (prefix + checksum); exit 1 when any is found')
    .argument('<paths...>', 'files or directories')
    .action(async (paths: string[]) => {
      try {
        const found = await scanPaths(paths, (f) => process.stdout.write(`${f.file}:${f.line}: ${f.masked}\n`));
        if (found > 0) {
          process.stderr.write(`keywarden: ${found} key${found === 1 ? '' : 's'} found\n`);
          process.exit(1);
        }
      } catch (err) {
        die(err);
      }
    });
  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch(die);
}
