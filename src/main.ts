import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from './config';
import { DataDirError } from './infra/data-dir';
import { EmbeddedStoreBusyError, openDatabase } from './infra/db';
import { KeywardenError } from './infra/errors';
import { type MigrationState, migrationStatus } from './infra/migrate';
import { TlsFilesError } from './infra/listener';
import { createLogger, setLogger } from './infra/logger';
import { PACKAGE_VERSION } from './infra/paths';
import { RedisUnavailableError } from './infra/redis';
import { createAccountWithMasterKey } from './keys/bootstrap';
import { inviteOperatorFromCli } from './operators/manage';
import { leakedEndpoint, reportLeakedSecrets, type ScanSummary, scanPaths } from './keys/scan';
import { start, type Role } from './app';

// CLI entry: start | api | worker | bootstrap | scan | migrate | operator invite.

function die(err: unknown): never {
  if (err instanceof ConfigError || err instanceof TlsFilesError || err instanceof RedisUnavailableError || err instanceof EmbeddedStoreBusyError || err instanceof DataDirError || err instanceof KeywardenError) {
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
    const force = setTimeout(() => process.exit(1), 30_000 + running.config.shutdownDrainMs);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (err) => die(err),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP re-reads TLS_CERT_FILE/TLS_KEY_FILE (they are also re-read when they change).
  process.on('SIGHUP', () => running.reloadTls());
}

/** `scan`: exit 0 clean, 1 keys found (and reported, with --report), 2 bad usage or a failure. */
async function scanCommand(paths: string[], opts: { report?: string; progress?: boolean }): Promise<void> {
  const fail = (message: string): never => {
    process.stderr.write(`keywarden scan: ${message}\n`);
    process.exit(2);
  };
  if (paths.length === 0) fail('give at least one file or directory to scan');
  let endpoint: URL | undefined;
  try {
    endpoint = opts.report ? leakedEndpoint(opts.report) : undefined;
  } catch (err) {
    fail((err as Error).message);
  }
  const tty = process.stderr.isTTY === true;
  const showProgress = tty || opts.progress === true;
  let progressOnLine = false;
  const secrets: string[] = [];
  let summary: ScanSummary;
  try {
    summary = await scanPaths(
      paths,
      (f, secret) => {
        if (progressOnLine) process.stderr.write('\r\x1b[K');
        progressOnLine = false;
        process.stdout.write(`${f.file}:${f.line}: ${f.masked}\n`);
        secrets.push(secret);
      },
      {
        onProgress: showProgress
          ? (n) => {
              // On a terminal the line is rewritten in place; in a log, one line each time.
              process.stderr.write(tty ? `\rkeywarden scan: ${n} files scanned` : `keywarden scan: ${n} files scanned\n`);
              progressOnLine = tty;
            }
          : undefined,
      },
    );
  } catch (err) {
    return fail((err as Error).message);
  }
  if (progressOnLine) process.stderr.write('\n');
  if (summary.found === 0) process.exit(0);
  process.stderr.write(`keywarden: ${summary.found} key${summary.found === 1 ? '' : 's'} found\n`);
  if (endpoint) {
    try {
      const received = await reportLeakedSecrets(endpoint, secrets, { source: 'keywarden-scan' });
      process.stderr.write(`keywarden: reported ${received} distinct key${received === 1 ? '' : 's'} to ${endpoint.origin}; matching keys are revoked\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  process.exit(1);
}

/** `migrate`: applies pending migrations; `--status` lists them and exits 1 when any is pending or changed. */
async function migrateCommand(statusOnly: boolean): Promise<void> {
  const config = loadConfig();
  setLogger(createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  const open = (migrate: boolean) => openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, migrate });
  const db = await open(false);
  let states: MigrationState[];
  try {
    states = await migrationStatus((text, params) => db.sql({ name: '', text }, params ?? []));
  } finally {
    await db.close();
  }
  const pending = states.filter((m) => m.state === 'pending');
  const changed = states.filter((m) => m.state === 'changed');
  if (statusOnly) {
    for (const m of states) process.stdout.write(`${m.state.padEnd(8)} ${m.name}\n`);
    process.stdout.write(`${db.location}: ${states.length - pending.length} applied, ${pending.length} pending${changed.length ? `, ${changed.length} changed after they were applied` : ''}\n`);
    process.exit(pending.length + changed.length > 0 ? 1 : 0);
  }
  if (pending.length > 0 || changed.length > 0) await (await open(true)).close();
  for (const m of pending) process.stdout.write(`applied  ${m.name}\n`);
  process.stdout.write(`${db.location}: up to date (${states.length} migrations)\n`);
  process.exit(0);
}

/** `operator invite`: a person (the first OWNER) without GraphQL; prints what it did, no secret exists. */
async function operatorInviteCommand(opts: { account: string; email: string; role: string }): Promise<void> {
  const config = loadConfig();
  setLogger(createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const { operator, accountId } = await inviteOperatorFromCli(db, opts);
    process.stdout.write(`Invited ${operator.email} as ${operator.role} of account "${opts.account.trim()}" (${accountId}); operator ${operator.id}.\n`);
    process.stdout.write(
      config.people.oidc
        ? `They sign in with single sign-on at ${config.people.publicUrl}/auth/login, with this email verified by ${config.people.oidc.issuer}.\n`
        : 'Single sign-on is not configured yet (OIDC_ISSUER, OIDC_CLIENT_ID): they can sign in once it is (docs/people.md).\n',
    );
  } finally {
    await db.close();
  }
}

/** `operator invite` (more operator commands would join it here). */
function addOperatorCommands(program: Command): void {
  program
    .command('operator')
    .description('people who administer Keywarden (see docs/people.md)')
    .command('invite')
    .description('invite a person by email into an account with a role (e.g. the first OWNER); they sign in with single sign-on')
    .requiredOption('--account <name>', 'account name')
    .requiredOption('--email <email>', "the person's email, as their identity provider verifies it")
    .requiredOption('--role <role>', 'OWNER, ADMIN or AUDITOR')
    .action((opts: { account: string; email: string; role: string }) => operatorInviteCommand(opts).catch(die));
}

export function buildCli(): Command {
  const program = new Command('keywarden').description('API key manager for AI agents and workflows').version(PACKAGE_VERSION).showHelpAfterError();
  program
    .command('start', { isDefault: true })
    .description('API server and workers in one process')
    .action(() => run('all').catch(die));
  program
    .command('api')
    .description('API server only (scale out with several)')
    .action(() => run('api').catch(die));
  program
    .command('worker')
    .description('workers only (scale out with several)')
    .action(() => run('worker').catch(die));
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
            process.stdout.write(`Created account "${opts.account.trim()}" (${created.accountId}).\n` + `Master key ${created.keyId}, shown this once (only a digest is stored):\n\n${created.secret}\n`);
          }
        } finally {
          await db.close();
        }
      } catch (err) {
        die(err);
      }
    });
  addOperatorCommands(program);
  program
    .command('migrate')
    .description('apply pending database migrations (start-up applies them too); --status lists them and exits 1 when any is pending')
    .addOption(new Option('--status', 'list applied and pending migrations; change nothing'))
    .action((opts: { status?: boolean }) => migrateCommand(opts.status === true).catch(die));
  program
    .command('scan')
    .description('find Keywarden keys in files (prefix + checksum, .gitignore respected); exit 1 when any is found, 2 on bad usage')
    .argument('[paths...]', 'files or directories')
    .addOption(new Option('--report <url>', "post the keys found to this Keywarden's /v1/keys/leaked (revokes them)"))
    .addOption(new Option('--progress', 'print a progress line every 1000 files (default: only when stderr is a terminal)'))
    // Exit 1 means "keys found" to CI; usage errors must not look like that.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action((paths: string[], opts: { report?: string; progress?: boolean }) => scanCommand(paths, opts));
  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch(die);
}
