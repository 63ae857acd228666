import { parse } from 'csv-parse/sync';
import { accessReport } from '../../src/reports/access';
import { securityReport } from '../../src/reports/security';
import { usageReport } from '../../src/reports/usage';
import { startHarness, type Harness } from '../helpers/harness';
import { createAgent, createGroup, createKey, createWorkflow, expectError, ok, UPDATE_KEY, REVOKE_KEY } from '../helpers/gql-fixtures';

// accessReport, usageReport and securityReport (README, Reports): exactly the expected rows, in JSON and
// in CSV (parsed back with an independent RFC 4180 parser), read in batches, master key only.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

type Acct = Awaited<ReturnType<Harness['newAccount']>>;

const REPORT = (name: string, args: string, vars: string) => `query(${vars}) { ${name}(${args}) { format generatedAt content rowCount } }`;
const ACCESS = REPORT('accessReport', 'format: $format', '$format: ReportFormat');
const USAGE = REPORT('usageReport', 'from: $from, to: $to, format: $format, granularity: $granularity', '$from: DateTime!, $to: DateTime!, $format: ReportFormat, $granularity: UsageGranularity');
const SECURITY = REPORT('securityReport', 'from: $from, to: $to, format: $format', '$from: DateTime!, $to: DateTime!, $format: ReportFormat');

/** Both formats of one report, as lists of records keyed by column (CSV cells are strings). */
async function bothFormats(query: string, vars: Record<string, unknown>, secret: string) {
  const json = ok(await h.gql(query, { ...vars, format: 'JSON' }, secret));
  const csv = ok(await h.gql(query, { ...vars, format: 'CSV' }, secret));
  const [jr] = Object.values(json) as any[];
  const [cr] = Object.values(csv) as any[];
  expect(jr.format).toBe('JSON');
  expect(cr.format).toBe('CSV');
  const doc = JSON.parse(jr.content);
  // RFC 4180: CRLF after every record, the header first.
  expect(cr.content.endsWith('\r\n')).toBe(true);
  expect(cr.content.split('\r\n')[0]).toBe(doc.columns.join(','));
  const records: Record<string, string>[] = parse(cr.content, { columns: true, record_delimiter: '\r\n' });
  expect(jr.rowCount).toBe(doc.rows.length);
  expect(cr.rowCount).toBe(records.length);
  return { doc, rows: doc.rows as Record<string, any>[], csv: records };
}

describe('accessReport', () => {
  let acct: Acct;
  const ids: Record<string, string> = {};
  let expected: [string, string, string, string][];

  beforeAll(async () => {
    acct = await h.newAccount('access');
    const s = acct.secret;
    for (const name of ['alpha', 'beta', 'gamma']) ids[name] = (await createAgent(h, s, { name })).id;
    const group = await createGroup(h, s, { name: 'alpha-beta', agentIds: [ids.alpha, ids.beta] });
    ids.wfOne = (await createWorkflow(h, s, { name: 'wf, "one"', agentIds: [ids.gamma] })).id;
    ids.wfTwo = (await createWorkflow(h, s, { name: 'wf-two', agentIds: [ids.alpha] })).id;

    const grouped = await createKey(h, s, { name: 'grouped', type: 'PRODUCTION', scope: { kind: 'AGENT_GROUP', groupId: group.id } });
    // Derived: narrower scope and permission than its parent.
    const derive = async (parentId: string, input: Record<string, unknown>) => {
      const r = ok(await h.gql(`mutation($p: ID!, $i: CreateKeyInput!) { deriveKey(parentId: $p, input: $i) { key { id } } }`, { p: parentId, i: input }, s));
      return r.deriveKey.key.id as string;
    };
    await derive(grouped.key.id, { name: 'grouped-child', type: 'PRODUCTION', permission: 'READ_ONLY', scope: { kind: 'SINGLE_AGENT', agentId: ids.alpha } });
    // A parent narrowed after its child was derived narrows the child: permission and scope intersect.
    const wide = await createKey(h, s, { name: 'wide', type: 'PRODUCTION', permission: 'MANAGE' });
    await derive(wide.key.id, { name: 'wide-child-beta', type: 'PRODUCTION', permission: 'MANAGE', scope: { kind: 'SINGLE_AGENT', agentId: ids.beta } });
    await derive(wide.key.id, { name: 'wide-child-group', type: 'PRODUCTION', permission: 'MANAGE', scope: { kind: 'AGENT_GROUP', groupId: group.id } });
    ok(await h.gql(UPDATE_KEY, { id: wide.key.id, input: { permission: 'EXECUTE', scope: { kind: 'SINGLE_AGENT', agentId: ids.alpha } } }, s));
    await createKey(h, s, { name: 'workflow', type: 'INTEGRATION', scope: { kind: 'WORKFLOW', workflowIds: [ids.wfOne] }, ipAllowlist: ['203.0.113.0/24'] });
    // Reaching nothing: revoked (with its subtree) and expired keys.
    const revoked = await createKey(h, s, { name: 'revoked', type: 'PRODUCTION' });
    await derive(revoked.key.id, { name: 'revoked-child', type: 'PRODUCTION' });
    ok(await h.gql(REVOKE_KEY, { id: revoked.key.id }, s));
    const expired = await createKey(h, s, { name: 'expired', type: 'PRODUCTION' });
    await h.db.prisma.apiKey.update({ where: { id: expired.key.id }, data: { expiresAt: new Date(Date.now() - 1000) } });

    const all = ['alpha', 'beta', 'gamma'];
    expected = [
      ...all.map((a): [string, string, string, string] => ['master', 'AGENT', a, 'FULL_ACCESS']),
      ['master', 'WORKFLOW', 'wf, "one"', 'FULL_ACCESS'],
      ['master', 'WORKFLOW', 'wf-two', 'FULL_ACCESS'],
      ['grouped', 'AGENT', 'alpha', 'EXECUTE'],
      ['grouped', 'AGENT', 'beta', 'EXECUTE'],
      ['grouped-child', 'AGENT', 'alpha', 'READ_ONLY'],
      ['wide', 'AGENT', 'alpha', 'EXECUTE'],
      // wide-child-beta: beta ∩ alpha = nothing.
      ['wide-child-group', 'AGENT', 'alpha', 'EXECUTE'],
      ['workflow', 'AGENT', 'gamma', 'READ_ONLY'],
      ['workflow', 'WORKFLOW', 'wf, "one"', 'READ_ONLY'],
    ];
  });

  const summary = (rows: Record<string, any>[]) => rows.map((r) => [r.keyName, r.targetType, r.targetName, r.permission]);

  test('lists exactly the agents and workflows each usable key reaches, with the effective permission, in JSON and CSV', async () => {
    const { doc, rows, csv } = await bothFormats(ACCESS, {}, acct.secret);
    expect(doc.report).toBe('access');
    expect(summary(rows)).toEqual(expected);
    expect(summary(csv)).toEqual(expected);
    // Every JSON cell equals the CSV cell (booleans and nulls as CSV text).
    expect(csv).toEqual(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)]))));
    const wf = rows.find((r) => r.keyName === 'workflow' && r.targetType === 'WORKFLOW')!;
    expect(wf).toMatchObject({ targetId: ids.wfOne, restrictions: 'ip', keyType: 'INTEGRATION', status: 'ACTIVE', master: false });
    expect(rows.find((r) => r.keyName === 'master')).toMatchObject({ master: true, keyId: acct.keyId });
  });

  test('reading in batches of two gives the same rows as one batch', async () => {
    const small = await accessReport(h.db, acct.accountId, 'JSON', { batchSize: 2 });
    const big = await accessReport(h.db, acct.accountId, 'JSON', { batchSize: 1000 });
    expect(JSON.parse(small.content).rows).toEqual(JSON.parse(big.content).rows);
    expect(summary(JSON.parse(small.content).rows)).toEqual(expected);
  });

  test('JSON is the default format', async () => {
    const r = ok(await h.gql(`{ accessReport { format content } }`, {}, acct.secret));
    expect(r.accessReport.format).toBe('JSON');
    expect(JSON.parse(r.accessReport.content).rows).toHaveLength(expected.length);
  });
});

describe('usageReport', () => {
  let acct: Acct;
  let a: { id: string; name: string };
  let b: { id: string; name: string };
  const from = '2026-01-10T00:00:00.000Z';
  const to = '2026-01-12T00:00:00.000Z';

  beforeAll(async () => {
    acct = await h.newAccount('usage-report');
    a = (await createKey(h, acct.secret, { name: 'key-a', type: 'PRODUCTION' })).key;
    b = (await createKey(h, acct.secret, { name: 'key b, "quoted"', type: 'PRODUCTION' })).key;
    const other = await h.newAccount('usage-other');
    const foreign = (await createKey(h, other.secret, { name: 'foreign', type: 'PRODUCTION' })).key;
    const row = (keyId: string, accountId: string, hour: string, n: number, deniedByCode: Record<string, number> = {}) => ({
      keyId,
      accountId,
      hour: new Date(hour),
      requests: n,
      allowed: n - Object.values(deniedByCode).reduce((x, y) => x + y, 0),
      denied: Object.values(deniedByCode).reduce((x, y) => x + y, 0),
      units: n * 2,
      bytes: n * 100.5,
      deniedByCode,
    });
    await h.db.prisma.usageRollup.createMany({
      data: [
        row(a.id, acct.accountId, '2026-01-10T00:00:00Z', 5), // the first hour: included (from is inclusive)
        row(a.id, acct.accountId, '2026-01-10T13:00:00Z', 7, { RATE_LIMITED: 2 }),
        row(a.id, acct.accountId, '2026-01-11T23:00:00Z', 3, { IP_NOT_ALLOWED: 1 }),
        row(a.id, acct.accountId, '2026-01-12T00:00:00Z', 99), // to is exclusive
        row(a.id, acct.accountId, '2026-01-09T23:00:00Z', 99), // before the range
        row(b.id, acct.accountId, '2026-01-10T13:00:00Z', 4, { RATE_LIMITED: 1, EXPIRED: 1 }),
        row(b.id, acct.accountId, '2026-01-10T14:00:00Z', 6, { RATE_LIMITED: 3 }),
        row(foreign.id, other.accountId, '2026-01-10T13:00:00Z', 50), // another account
      ],
    });
  });

  const noIdentity = { identityId: null, identityExternalId: null };
  const sortByKeyThenStart = (rows: any[]) => [...rows].sort((x, y) => (x.keyId + x.start).localeCompare(y.keyId + y.start));

  test('by hour: one row per key and hour in [from, to), this account only, in JSON and CSV', async () => {
    const { doc, rows, csv } = await bothFormats(USAGE, { from, to, granularity: 'HOUR' }, acct.secret);
    const expected = sortByKeyThenStart([
      { keyId: a.id, keyName: 'key-a', ...noIdentity, start: '2026-01-10T00:00:00.000Z', requests: 5, allowed: 5, denied: 0, units: 10, bytes: 502.5, deniedByCode: {} },
      { keyId: a.id, keyName: 'key-a', ...noIdentity, start: '2026-01-10T13:00:00.000Z', requests: 7, allowed: 5, denied: 2, units: 14, bytes: 703.5, deniedByCode: { RATE_LIMITED: 2 } },
      { keyId: a.id, keyName: 'key-a', ...noIdentity, start: '2026-01-11T23:00:00.000Z', requests: 3, allowed: 2, denied: 1, units: 6, bytes: 301.5, deniedByCode: { IP_NOT_ALLOWED: 1 } },
      { keyId: b.id, keyName: 'key b, "quoted"', ...noIdentity, start: '2026-01-10T13:00:00.000Z', requests: 4, allowed: 2, denied: 2, units: 8, bytes: 402, deniedByCode: { RATE_LIMITED: 1, EXPIRED: 1 } },
      { keyId: b.id, keyName: 'key b, "quoted"', ...noIdentity, start: '2026-01-10T14:00:00.000Z', requests: 6, allowed: 3, denied: 3, units: 12, bytes: 603, deniedByCode: { RATE_LIMITED: 3 } },
    ]);
    expect(rows.map(({ keyStart, ...r }) => r)).toEqual(expected);
    expect(doc).toMatchObject({ report: 'usage', from, to, granularity: 'HOUR', totals: { requests: 25, allowed: 17, denied: 8, units: 50, bytes: 2512.5 } });
    expect(csv.map((r) => ({ keyId: r.keyId, keyName: r.keyName, start: r.start, requests: Number(r.requests), bytes: Number(r.bytes), deniedByCode: JSON.parse(r.deniedByCode) }))).toEqual(
      expected.map((r) => ({ keyId: r.keyId, keyName: r.keyName, start: r.start, requests: r.requests, bytes: r.bytes, deniedByCode: r.deniedByCode })),
    );
  });

  test('by day: hours summed per key and UTC day, denied counts merged by code', async () => {
    const { rows, csv } = await bothFormats(USAGE, { from, to, granularity: 'DAY' }, acct.secret);
    const expected = sortByKeyThenStart([
      { keyId: a.id, ...noIdentity, start: '2026-01-10T00:00:00.000Z', requests: 12, allowed: 10, denied: 2, units: 24, bytes: 1206, deniedByCode: { RATE_LIMITED: 2 } },
      { keyId: a.id, ...noIdentity, start: '2026-01-11T00:00:00.000Z', requests: 3, allowed: 2, denied: 1, units: 6, bytes: 301.5, deniedByCode: { IP_NOT_ALLOWED: 1 } },
      { keyId: b.id, ...noIdentity, start: '2026-01-10T00:00:00.000Z', requests: 10, allowed: 5, denied: 5, units: 20, bytes: 1005, deniedByCode: { RATE_LIMITED: 4, EXPIRED: 1 } },
    ]);
    expect(rows.map(({ keyStart, keyName, ...r }) => r)).toEqual(expected);
    expect(csv.map((r) => [r.keyId, r.start, r.requests, r.allowed, r.denied, r.units, r.bytes])).toEqual(
      expected.map((r) => [r.keyId, r.start, String(r.requests), String(r.allowed), String(r.denied), String(r.units), String(r.bytes)]),
    );
  });

  test('reading in batches of two sums across batch boundaries the same way', async () => {
    const input = { from: new Date(from), to: new Date(to), granularity: 'DAY' as const, format: 'JSON' as const };
    const small = JSON.parse((await usageReport(h.db, acct.accountId, input, { batchSize: 2 })).content);
    const big = JSON.parse((await usageReport(h.db, acct.accountId, input)).content);
    expect(small.rows).toEqual(big.rows);
    expect(small.rows).toHaveLength(3);
  });

  test('a range with no usage is a header-only CSV and an empty JSON list', async () => {
    const { rows, csv } = await bothFormats(USAGE, { from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' }, acct.secret);
    expect(rows).toEqual([]);
    expect(csv).toEqual([]);
  });
});

describe('securityReport', () => {
  let acct: Acct;
  let keyId: string;
  const from = '2026-02-01T00:00:00.000Z';
  const to = '2026-02-02T00:00:00.000Z';

  beforeAll(async () => {
    acct = await h.newAccount('security-report');
    keyId = (await createKey(h, acct.secret, { name: 'watched', type: 'PRODUCTION' })).key.id;
    const other = await h.newAccount('security-other');
    const ev = (accountId: string, createdAt: string, kind: string, severity: string, extra: Record<string, unknown> = {}) => ({
      accountId,
      createdAt: new Date(createdAt),
      kind: kind as never,
      severity: severity as never,
      ...extra,
    });
    await h.db.prisma.securityEvent.createMany({
      data: [
        ev(acct.accountId, '2026-02-01T00:00:00Z', 'KEY_LEAKED', 'CRITICAL', { keyId, ip: '198.51.100.7', details: { source: 'github, "public"', url: 'https://example.com/x' } }),
        ev(acct.accountId, '2026-02-01T10:00:00Z', 'FAILED_AUTH_BURST', 'HIGH', { ip: '203.0.113.9', details: { failures: 40 } }),
        ev(acct.accountId, '2026-02-01T11:00:00Z', 'RATE_LIMIT_VIOLATION', 'MEDIUM', { keyId, acknowledgedAt: new Date('2026-02-01T12:00:00Z') }),
        ev(acct.accountId, '2026-02-01T12:00:00Z', 'FAILED_AUTH_BURST', 'HIGH'),
        ev(acct.accountId, '2026-02-02T00:00:00Z', 'GEO_ANOMALY', 'HIGH'), // to is exclusive
        ev(acct.accountId, '2026-01-31T23:59:59Z', 'GEO_ANOMALY', 'HIGH'), // before
        ev(other.accountId, '2026-02-01T10:00:00Z', 'USAGE_ANOMALY', 'MEDIUM'), // another account
      ],
    });
  });

  test('lists the events in [from, to) oldest first with counts by kind and severity, in JSON and CSV', async () => {
    const { doc, rows, csv } = await bothFormats(SECURITY, { from, to }, acct.secret);
    const expected = [
      ['2026-02-01T00:00:00.000Z', 'KEY_LEAKED', 'CRITICAL', keyId, 'watched', '198.51.100.7', null],
      ['2026-02-01T10:00:00.000Z', 'FAILED_AUTH_BURST', 'HIGH', null, null, '203.0.113.9', null],
      ['2026-02-01T11:00:00.000Z', 'RATE_LIMIT_VIOLATION', 'MEDIUM', keyId, 'watched', null, '2026-02-01T12:00:00.000Z'],
      ['2026-02-01T12:00:00.000Z', 'FAILED_AUTH_BURST', 'HIGH', null, null, null, null],
    ];
    expect(rows.map((r) => [r.createdAt, r.kind, r.severity, r.keyId, r.keyName, r.ip, r.acknowledgedAt])).toEqual(expected);
    expect(csv.map((r) => [r.createdAt, r.kind, r.severity, r.keyId, r.keyName, r.ip, r.acknowledgedAt])).toEqual(expected.map((e) => e.map((v) => v ?? '')));
    expect(rows[0].details).toEqual({ source: 'github, "public"', url: 'https://example.com/x' });
    expect(JSON.parse(csv[0].details)).toEqual({ source: 'github, "public"', url: 'https://example.com/x' });
    expect(doc.total).toBe(4);
    expect(doc.countsByKind).toMatchObject({ KEY_LEAKED: 1, FAILED_AUTH_BURST: 2, RATE_LIMIT_VIOLATION: 1, GEO_ANOMALY: 0, USAGE_ANOMALY: 0 });
    expect(doc.countsBySeverity).toEqual({ LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 1 });
  });

  test('reading in batches of one gives the same rows', async () => {
    const input = { from: new Date(from), to: new Date(to), format: 'JSON' as const };
    const small = JSON.parse((await securityReport(h.db, acct.accountId, input, { batchSize: 1 })).content);
    const big = JSON.parse((await securityReport(h.db, acct.accountId, input)).content);
    expect(small.rows).toEqual(big.rows);
    expect(small.rows).toHaveLength(4);
  });
});

describe('bad input and authorization', () => {
  let acct: Acct;
  beforeAll(async () => {
    acct = await h.newAccount('report-bad');
  });

  test.each([
    ['usageReport with from after to', USAGE, { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from'],
    ['usageReport by hour over a year', USAGE, { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', granularity: 'HOUR' }, 'to'],
    ['securityReport with from after to', SECURITY, { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from'],
  ])('%s answers BAD_USER_INPUT naming the argument', async (_label, query, vars, field) => {
    const err = expectError(await h.gql(query, vars, acct.secret), 'BAD_USER_INPUT');
    expect(err.message.startsWith(`${field}:`)).toBe(true);
  });

  test('usageReport by day over several years is allowed', async () => {
    ok(await h.gql(USAGE, { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', granularity: 'DAY' }, acct.secret));
  });

  test('an unknown format is refused before any resolver runs, naming the argument and the enum', async () => {
    const viaVariable = await h.gql(ACCESS, { format: 'XML' }, acct.secret);
    expect(viaVariable.data).toBeUndefined();
    expect(viaVariable.errors?.[0].message).toMatch(/\$format.*"XML".*ReportFormat/);
    const inline = await h.gql(`{ securityReport(from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", format: XML) { content } }`, {}, acct.secret);
    expect(inline.errors?.[0].message).toMatch(/"XML".*ReportFormat/);
  });

  test('a key that is not a master key is FORBIDDEN from every report and complianceStatus', async () => {
    const manager = await createKey(h, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'FULL_ACCESS' });
    for (const [query, vars] of [
      [ACCESS, {}],
      [USAGE, { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }],
      [SECURITY, { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }],
      [`{ complianceStatus { activeKeys { count } } }`, {}],
    ] as const) {
      expectError(await h.gql(query, vars, manager.secret), 'FORBIDDEN');
    }
  });

  test('without a key, reports answer UNAUTHENTICATED', async () => {
    expectError(await h.gql(ACCESS, {}, null), 'UNAUTHENTICATED');
  });
});
