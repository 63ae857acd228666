import { parse } from 'csv-parse/sync';
import { startHarness, type Harness } from '../helpers/harness';
import { ok } from '../helpers/gql-fixtures';
import { signedInOperator } from '../helpers/operators';

// The person in securityEvents, the reports and exportConfiguration: where a key is named today,
// the operator behind it is named too (id, email, name); nothing secret about them is exported.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const CREATE_KEY = `mutation($input: CreateKeyInput!) { createKey(input: $input) { key { id } } }`;
const EVENTS = `{ securityEvents(first: 20, filter: { kind: KEY_CREATED }) { edges { node { id key { id } actorOperator { id email name role } acknowledgedByOperator { email } } } } }`;
const ACK = `mutation($id: ID!) { acknowledgeSecurityEvent(id: $id) { id acknowledgedByOperator { email } } }`;
const SECURITY_REPORT = `query($from: DateTime!, $to: DateTime!, $format: ReportFormat) { securityReport(from: $from, to: $to, format: $format) { content } }`;
const ACCESS_REPORT = `query($format: ReportFormat) { accessReport(format: $format) { content } }`;
const EXPORT = `{ exportConfiguration }`;

const range = () => ({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() });

async function setup(label: string) {
  const acct = await h.newAccount(label);
  const owner = await signedInOperator(h, acct.accountId, 'OWNER');
  const admin = await signedInOperator(h, acct.accountId, 'ADMIN');
  await h.db.prisma.operator.update({ where: { id: admin.id }, data: { name: 'Ana Admin' } });
  // A FULL_ACCESS key made by a person raises KEY_CREATED; one made by the master key names no person.
  const byPerson = ok(await admin.gql(CREATE_KEY, { input: { name: 'by-person', type: 'PRODUCTION', permission: 'FULL_ACCESS' } })).createKey.key.id;
  const byKey = ok(await h.gql(CREATE_KEY, { input: { name: 'by-key', type: 'PRODUCTION', permission: 'FULL_ACCESS' } }, acct.secret)).createKey.key.id;
  return { acct, owner, admin, byPerson, byKey };
}

test('securityEvents name the person whose action raised an event, and the person who acknowledged it', async () => {
  const { acct, owner, admin, byPerson, byKey } = await setup('sec-people');
  const nodes = ok(await owner.gql(EVENTS)).securityEvents.edges.map((e: any) => e.node);
  const fromPerson = nodes.find((n: any) => n.key.id === byPerson);
  expect(fromPerson.actorOperator).toEqual({ id: admin.id, email: admin.email, name: 'Ana Admin', role: 'ADMIN' });
  expect(nodes.find((n: any) => n.key.id === byKey).actorOperator).toBeNull();

  expect(ok(await owner.gql(ACK, { id: fromPerson.id })).acknowledgeSecurityEvent.acknowledgedByOperator).toEqual({ email: owner.email });
  const byMaster = nodes.find((n: any) => n.key.id === byKey);
  expect(ok(await h.gql(ACK, { id: byMaster.id }, acct.secret)).acknowledgeSecurityEvent.acknowledgedByOperator).toBeNull();

  // The security.alert webhook payload carries the person's id too.
  const alert = await h.db.prisma.outboxEvent.findFirst({ where: { accountId: acct.accountId, type: 'security.alert', data: { path: ['id'], equals: fromPerson.id } } });
  expect((alert as any).data.actorOperatorId).toBe(admin.id);
});

test('securityReport has the person beside the key, in JSON and CSV', async () => {
  const { acct, admin, byPerson, byKey } = await setup('sec-report');
  const json = JSON.parse(ok(await h.gql(SECURITY_REPORT, { ...range(), format: 'JSON' }, acct.secret)).securityReport.content);
  expect(json.columns).toEqual(expect.arrayContaining(['keyId', 'keyName', 'actorOperatorId', 'actorOperatorEmail', 'actorOperatorName']));
  const row = (rows: any[], keyId: string) => rows.find((r) => r.keyId === keyId);
  expect(row(json.rows, byPerson)).toMatchObject({ keyName: 'by-person', actorOperatorId: admin.id, actorOperatorEmail: admin.email, actorOperatorName: 'Ana Admin' });
  expect(row(json.rows, byKey)).toMatchObject({ keyName: 'by-key', actorOperatorId: null, actorOperatorEmail: null, actorOperatorName: null });

  const csv = ok(await h.gql(SECURITY_REPORT, { ...range(), format: 'CSV' }, acct.secret)).securityReport.content;
  const records: Record<string, string>[] = parse(csv, { columns: true, record_delimiter: '\r\n' });
  expect(row(records, byPerson)).toMatchObject({ actorOperatorId: admin.id, actorOperatorEmail: admin.email, actorOperatorName: 'Ana Admin' });
  expect(row(records, byKey)).toMatchObject({ actorOperatorId: '', actorOperatorEmail: '' });
});

test("the access report's JSON lists the people with access and their roles; another account's are not in it", async () => {
  const a = await setup('access-a');
  const b = await setup('access-b');
  const doc = JSON.parse(ok(await h.gql(ACCESS_REPORT, { format: 'JSON' }, a.acct.secret)).accessReport.content);
  expect(doc.operators.map((o: any) => [o.email, o.role, o.name, o.disabled]).sort()).toEqual(
    [
      [a.owner.email, 'OWNER', null, false],
      [a.admin.email, 'ADMIN', 'Ana Admin', false],
    ].sort(),
  );
  expect(JSON.stringify(doc)).not.toContain(b.owner.email);
});

test('exportConfiguration holds the operators and the approval policy, and nothing secret about people', async () => {
  const a = await setup('export-a');
  const b = await setup('export-b');
  ok(await a.owner.gql(`mutation { setApprovalPolicy(input: { requireFor: [HIGH_PRIVILEGE, EMERGENCY], approvals: 2 }) { approvals } }`));
  const exported = ok(await a.owner.gql(EXPORT)).exportConfiguration;
  expect(exported.approvalPolicy).toEqual({ requireFor: ['HIGH_PRIVILEGE', 'EMERGENCY'], approvals: 2 });
  expect(exported.operators).toHaveLength(2);
  expect(Object.keys(exported.operators[0]).sort()).toEqual(['createdAt', 'disabled', 'email', 'id', 'lastSignInAt', 'name', 'role']);
  const text = JSON.stringify(exported);
  // No session cookie, no identity-provider subject, nothing of the other account.
  expect(text).not.toContain(a.owner.cookie.split('=')[1]);
  expect(text).not.toContain('idp.example.test');
  expect(text).not.toContain(b.owner.email);
  // The other account's export has its own default policy.
  expect(ok(await h.gql(EXPORT, {}, b.acct.secret)).exportConfiguration.approvalPolicy).toEqual({ requireFor: [], approvals: 1 });
});

test('complianceStatus counts the high-privilege keys the approval policy leaves to one person; another account keeps its own', async () => {
  const a = await setup('compliance-a');
  const b = await setup('compliance-b');
  const Q = `{ complianceStatus { highPrivilegeKeys { count } highPrivilegeKeysWithoutApproval { count sampleKeyIds } } }`;
  const status = async (secret: string) => ok(await h.gql(Q, {}, secret)).complianceStatus;
  const setPolicy = (requireFor: string[]) => a.owner.gql(`mutation($r: [ApprovalTrigger!]!) { setApprovalPolicy(input: { requireFor: $r, approvals: 1 }) { approvals } }`, { r: requireFor });

  // No policy: every high-privilege key (the master key, by-person, by-key) needs no approval.
  const none = await status(a.acct.secret);
  expect(none.highPrivilegeKeys.count).toBe(3);
  expect(none.highPrivilegeKeysWithoutApproval.count).toBe(3);
  expect(none.highPrivilegeKeysWithoutApproval.sampleKeyIds.sort()).toEqual([a.acct.keyId, a.byPerson, a.byKey].sort());

  ok(await setPolicy(['EMERGENCY']));
  expect((await status(a.acct.secret)).highPrivilegeKeysWithoutApproval.count).toBe(3);
  ok(await setPolicy(['MASTER']));
  expect((await status(a.acct.secret)).highPrivilegeKeysWithoutApproval.sampleKeyIds.sort()).toEqual([a.byPerson, a.byKey].sort());
  ok(await setPolicy(['HIGH_PRIVILEGE']));
  expect((await status(a.acct.secret)).highPrivilegeKeysWithoutApproval).toEqual({ count: 0, sampleKeyIds: [] });
  expect((await status(b.acct.secret)).highPrivilegeKeysWithoutApproval.count).toBe(3);
});
