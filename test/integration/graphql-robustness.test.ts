import { Writable } from 'node:stream';
import { createLogger, logger, setLogger } from '../../src/infra/logger';
import { startHarness, type Harness } from '../helpers/harness';
import { CREATE_AGENT, createKey, expectError, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: input no field can take (NUL characters, absurd nesting, cursors that
// were not issued here, malformed ids) is BAD_USER_INPUT, a race between two changes is CONFLICT,
// a malformed percent-escape in a path is 400: never a 500. Such refusals are logged at info,
// without the query text; only unexpected failures are errors.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
const lines: any[] = [];
const original = logger;

beforeAll(async () => {
  setLogger(
    createLogger(
      'debug',
      new Writable({
        write(chunk, _enc, done) {
          for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
          done();
        },
      }),
    ),
  );
  h = await startHarness();
  acct = await h.newAccount('robust');
});
afterAll(async () => {
  setLogger(original);
  await h.close();
});

const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { key { id } } }`;
const codesOf = (res: { errors?: { extensions?: { code?: string } }[] }) => (res.errors ?? []).map((e) => e.extensions?.code);

describe('NUL characters', () => {
  test.each<[string, Record<string, unknown>]>([
    ['a name', { name: 'bad\u0000name', type: 'DEVELOPMENT' }],
    ['a metadata value', { name: 'meta', type: 'DEVELOPMENT', metadata: { team: 'a\u0000b' } }],
    ['a metadata key', { name: 'meta-key', type: 'DEVELOPMENT', metadata: { 'te\u0000am': 'a' } }],
    ['a condition', { name: 'cond', type: 'DEVELOPMENT', condition: 'request.ip == "\u0000"' }],
  ])('in %s (a variable) answer BAD_USER_INPUT', async (_label, input) => {
    const res = await h.gql(CREATE, { input }, acct.secret);
    expectError(res, 'BAD_USER_INPUT');
    expect(res.status).toBe(400);
  });

  test('as an escape in the query text, and in a revocation reason', async () => {
    expectError(await h.gql(`mutation { createKey(input: { name: "a\\u0000b", type: DEVELOPMENT }) { key { id } } }`, {}, acct.secret), 'BAD_USER_INPUT');
    const k = await createKey(h, acct.secret, { name: 'to-revoke', type: 'DEVELOPMENT' });
    expectError(await h.gql(`mutation($id: ID!, $r: String) { revokeKey(id: $id, reason: $r) { id } }`, { id: k.key.id, r: 'oops\u0000' }, acct.secret), 'BAD_USER_INPUT');
    expectError(await h.gql(CREATE_AGENT, { input: { name: 'agent\u0000' } }, acct.secret), 'BAD_USER_INPUT');
  });
});

describe('deep nesting', () => {
  const nest = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: nest(levels - 1) });
  test.each([20, 40])('metadata nested %i deep answers BAD_USER_INPUT', async (levels) => {
    const res = await h.gql(CREATE, { input: { name: `deep-${levels}`, type: 'DEVELOPMENT', metadata: nest(levels) } }, acct.secret);
    expectError(res, 'BAD_USER_INPUT');
  });

  test('metadata nested 5,000 deep (written by hand: too deep for JSON.stringify) answers 400 BAD_USER_INPUT', async () => {
    const metadata = '{"a":'.repeat(5_000) + '"leaf"' + '}'.repeat(5_000);
    const body = `{"query":${JSON.stringify(CREATE)},"variables":{"input":{"name":"deepest","type":"DEVELOPMENT","metadata":${metadata}}}}`;
    const res = await h.app.graphql.fetch('http://keywarden.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${acct.secret}` }, body });
    expect(res.status).toBe(400);
    expect(codesOf((await res.json()) as any)).toEqual(['BAD_USER_INPUT']);
  });

  test('metadata 10 deep is fine', async () => {
    ok(await h.gql(CREATE, { input: { name: 'deep-ok', type: 'DEVELOPMENT', metadata: nest(10) } }, acct.secret));
  });
});

describe('forged cursors and ids', () => {
  test.each(['garbage', Buffer.from('GS:not-a-uuid').toString('base64'), Buffer.from('S:123').toString('base64'), Buffer.from('J:{"x":').toString('base64'), '%%%'])(
    'keys(after: %p) answers BAD_USER_INPUT',
    async (cursor) => {
      const res = await h.gql(`query($c: String) { keys(first: 5, after: $c) { edges { node { id } } } }`, { c: cursor }, acct.secret);
      expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    },
  );

  test.each(['auditEvents', 'securityEvents', 'agents'])('%s(after: forged) answers BAD_USER_INPUT', async (field) => {
    const res = await h.gql(`query($c: String) { ${field}(first: 5, after: $c) { edges { node { id } } } }`, { c: Buffer.from('GS:zzz').toString('base64') }, acct.secret);
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
  });
});

test('concurrent rotateKey calls on one key: one succeeds, the others answer CONFLICT (never an internal error)', async () => {
  const k = await createKey(h, acct.secret, { name: 'rotate-race', type: 'DEVELOPMENT' });
  const results = await Promise.all(Array.from({ length: 5 }, () => h.gql(`mutation($id: ID!) { rotateKey(id: $id) { key { id } } }`, { id: k.key.id }, acct.secret)));
  const outcomes = results.map((r) => (r.errors ? codesOf(r)[0] : 'OK'));
  expect(outcomes.filter((o) => o === 'OK')).toHaveLength(1);
  expect(outcomes.filter((o) => o !== 'OK').every((o) => o === 'CONFLICT')).toBe(true);
});

test('a malformed percent-escape in a gateway path answers 400, not 500', async () => {
  for (const path of ['/v1/agents/%E0%A4%A/x', '/v1/agents/abc/%', '/v1/workflows/%zz/run', '/v1/agents/a/%C0%AF']) {
    const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${acct.secret}` } });
    expect(res.status).toBeLessThan(500);
  }
});

test('expected refusals are logged at info without the query text; nothing above info', async () => {
  lines.length = 0;
  const marker = 'marker-query-text-7f3a';
  await h.gql(`query { key(id: "00000000-0000-4000-8000-000000000000") { id name } } # ${marker}`, {}, acct.secret);
  await h.gql(CREATE, { input: { name: `x${marker}\u0000`, type: 'DEVELOPMENT' } }, acct.secret);
  await h.gql(`query($c: String) { keys(after: $c) { edges { node { id } } } } # ${marker}`, { c: 'garbage' }, acct.secret);
  expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  expect(JSON.stringify(lines)).not.toContain(marker);
});
