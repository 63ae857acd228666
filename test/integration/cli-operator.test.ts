import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { verifyAuditChain } from '../../src/audit/chain';
import { openDatabase } from '../../src/infra/db';
import { runCli } from '../helpers/processes';
import { uniqueName } from '../helpers/harness';

// `keywarden operator invite`: the first OWNER without GraphQL, on PostgreSQL and on the embedded
// store, as a user runs it (the compiled CLI in a child process).

jest.setTimeout(120_000);

const PG = { DATABASE_URL: process.env.TEST_DATABASE_URL, OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined };

async function query(sql: string, params: unknown[]) {
  const db = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows;
  } finally {
    await db.end();
  }
}

async function bootstrap(env: Record<string, string | undefined>): Promise<{ name: string; accountId: string }> {
  const name = uniqueName('cli-op');
  const r = await runCli(['bootstrap', '--account', name, '--json'], env);
  expect(r.code).toBe(0);
  return { name, accountId: JSON.parse(r.stdout).accountId };
}

/** What a refused invite may not have changed: the account's operators and its audit log. */
const written = async (accountId: string) => ({
  operators: await query('SELECT id FROM "Operator" WHERE "accountId" = $1', [accountId]),
  audit: await query('SELECT sequence FROM "AuditEvent" WHERE "accountId" = $1', [accountId]),
});

let first: { name: string; accountId: string };
let second: { name: string; accountId: string };
beforeAll(async () => {
  [first, second] = await Promise.all([bootstrap(PG), bootstrap(PG)]);
});

test('operator invite on PostgreSQL creates the OWNER, says what it did, and audits the CLI as the actor', async () => {
  const { name, accountId } = first;
  const r = await runCli(['operator', 'invite', '--account', name, '--email', 'Ana@Example.com', '--role', 'OWNER'], PG);
  expect(r.code).toBe(0);
  const [op] = await query('SELECT id, email, role, disabled, issuer FROM "Operator" WHERE "accountId" = $1', [accountId]);
  expect(op).toMatchObject({ email: 'ana@example.com', role: 'OWNER', disabled: false, issuer: null });
  expect(r.stdout).toContain(`Invited ana@example.com as OWNER of account "${name}" (${accountId}); operator ${op.id}.`);
  expect(r.stdout).toContain('Single sign-on is not configured yet');

  const events = await query('SELECT action, "actorKeyId", "actorOperatorId", "actorSystem", "targetId", after FROM "AuditEvent" WHERE "accountId" = $1 AND action = $2', [accountId, 'operator.invite']);
  expect(events).toEqual([
    { action: 'operator.invite', actorKeyId: null, actorOperatorId: null, actorSystem: 'cli', targetId: op.id, after: { id: op.id, email: 'ana@example.com', name: null, role: 'OWNER', disabled: false } },
  ]);
  // The hash chain covers the new field: the chain verifies, and changing it breaks the chain.
  const db = await openDatabase({ databaseUrl: process.env.TEST_DATABASE_URL, dataDir: '/nonexistent', migrate: false });
  try {
    expect(await verifyAuditChain(db.prisma, accountId)).toMatchObject({ valid: true });
    await query('UPDATE "AuditEvent" SET "actorSystem" = NULL WHERE "accountId" = $1 AND action = $2', [accountId, 'operator.invite']);
    expect(await verifyAuditChain(db.prisma, accountId)).toMatchObject({ valid: false });
    await query('UPDATE "AuditEvent" SET "actorSystem" = $3 WHERE "accountId" = $1 AND action = $2', [accountId, 'operator.invite', 'cli']);
  } finally {
    await db.close();
  }
});

test('the same person may be invited into another account (role in any case); with single sign-on configured, the CLI says where to sign in', async () => {
  const env = { ...PG, OIDC_ISSUER: 'https://sso.example.com/realms/main', OIDC_CLIENT_ID: 'keywarden', KEYWARDEN_PUBLIC_URL: 'https://keys.example.com' };
  const r = await runCli(['operator', 'invite', '--account', second.name, '--email', 'ana@example.com', '--role', 'auditor'], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('They sign in with single sign-on at https://keys.example.com/auth/login, with this email verified by https://sso.example.com/realms/main.');
  expect((await query('SELECT role FROM "Operator" WHERE "accountId" = $1', [second.accountId])).map((o) => o.role)).toEqual(['AUDITOR']);
});

test('bad input: one line naming the option, exit 1, nothing written', async () => {
  const { name, accountId } = second;
  const cases: [string[], RegExp][] = [
    [['--account', `${name}-nope`, '--email', 'x@example.com', '--role', 'OWNER'], /^keywarden: --account: no account is named ".*-nope"$/],
    [['--account', name, '--email', 'not-an-email', '--role', 'OWNER'], /^keywarden: --email: "not-an-email" is not an email address$/],
    [['--account', name, '--email', 'x@example.com', '--role', 'SUPERUSER'], /^keywarden: --role: must be OWNER, ADMIN or AUDITOR, got "SUPERUSER"$/],
    [['--account', name, '--email', 'ANA@example.com', '--role', 'ADMIN'], /^keywarden: --email: ana@example.com is already an operator of this account$/],
  ];
  const before = await written(accountId);
  const results = await Promise.all(cases.map(([args]) => runCli(['operator', 'invite', ...args], PG)));
  results.forEach((r, i) => {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(cases[i][1]);
  });
  expect(await written(accountId)).toEqual(before);
  const missing = await runCli(['operator', 'invite', '--account', name, '--email', 'x@example.com'], PG);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('--role');
});

test('operator invite works on the embedded store', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-cli-op-'));
  try {
    const env = { DATABASE_URL: undefined, KEYWARDEN_DATA_DIR: dataDir, OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined };
    const { name } = await bootstrap(env);
    const r = await runCli(['operator', 'invite', '--account', name, '--email', 'ana@example.com', '--role', 'OWNER'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Invited ana@example.com as OWNER');
    // The row is there: a second invite of the same email is refused by it.
    const twice = await runCli(['operator', 'invite', '--account', name, '--email', 'ana@example.com', '--role', 'OWNER'], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr.trim()).toBe('keywarden: --email: ana@example.com is already an operator of this account');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 300_000);
