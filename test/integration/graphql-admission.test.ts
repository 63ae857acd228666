import { admissionGates } from '../../src/graphql/admission';
import { startHarness, type Harness } from '../helpers/harness';
import { createKey, expectError, ok, VIEWER } from '../helpers/gql-fixtures';
import { OWN_ORIGIN, signedInOperator } from '../helpers/operators';
import { DEFAULT_SESSION_POLICY, SESSION_COOKIE, startSession } from '../../src/operators/sessions';

// README, Admin API rules: the key is checked from the header before anything of the body is read
// or parsed; bodies over 100 KB answer 413 and documents over 5,000 tokens QUERY_TOO_COMPLEX;
// GRAPHQL_MAX_DEPTH / GRAPHQL_MAX_COMPLEXITY apply; admin requests run a bounded number at a
// time (the rest wait in a bounded line, then 503), and each key has a budget per minute.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('admission');
});
afterAll(() => h.close());

async function post(harness: Harness, body: string, secret: string | null, headers: Record<string, string> = {}) {
  const res = await harness.app.graphql.fetch('http://keywarden.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...headers },
    body,
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, headers: res.headers };
}

const codes = (json: any) => (json?.errors ?? []).map((e: any) => e.extensions?.code);

describe('the key before the body', () => {
  test('an unauthenticated request is refused without its document being parsed (no syntax error reported)', async () => {
    const res = await post(h, JSON.stringify({ query: '{ viewer { key { id ' }), null);
    expect(res.status).toBe(401);
    expect(codes(res.json)).toEqual(['UNAUTHENTICATED']);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  test.each([
    ['a body that is not JSON', '{{{{ not json'],
    ['a 5 MB document of millions of tokens', JSON.stringify({ query: `{ ${'a '.repeat(2_500_000)} }` })],
    ['a batch', JSON.stringify([{ query: '{ a' }, { query: '{ b' }])],
  ])('without a usable key, %s is UNAUTHENTICATED', async (_label, body) => {
    for (const secret of [null, 'ak_root_forged']) {
      const res = await post(h, body, secret);
      expect(res.status).toBe(401);
      expect(codes(res.json)).toEqual(['UNAUTHENTICATED']);
    }
  });

  test('a query string in a GET without a key is UNAUTHENTICATED too', async () => {
    const res = await h.app.graphql.fetch(`http://keywarden.test/graphql?query=${encodeURIComponent('{ viewer { key { id')}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
  });
});

describe('size and token bounds (with a valid key)', () => {
  test('a body over 100 KB answers 413', async () => {
    const res = await post(h, JSON.stringify({ query: VIEWER, variables: { pad: 'x'.repeat(120_000) } }), acct.secret);
    expect(res.status).toBe(413);
    expect(res.json.errors).toHaveLength(1);
  });

  test('a chunked body over 100 KB (no Content-Length) answers 413 too', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ query: VIEWER, variables: { pad: 'x'.repeat(120_000) } }));
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 16_384) c.enqueue(big.slice(i, i + 16_384));
        c.close();
      },
    });
    const res = await h.app.graphql.fetch('http://keywarden.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${acct.secret}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  test.each([
    ['repeated fields', `{ viewer { key { ${'id '.repeat(6_000)} } } }`],
    ['aliases', `{ ${Array.from({ length: 2_000 }, (_, i) => `a${i}: viewer { key { id } }`).join(' ')} }`],
    ['arguments', `{ viewer(${'a: 1 '.repeat(2_000)}) { key { id } } }`],
    ['a default list value', `query($v: [Int] = [${'1 '.repeat(6_000)}]) { viewer { key { id } } }`],
    ['directives', `{ viewer { key { id ${'@skip(if: false) '.repeat(1_200)} } } }`],
  ])('a document over 5,000 tokens (%s) answers 400 QUERY_TOO_COMPLEX before validation', async (_label, query) => {
    expect(query.length).toBeLessThan(100_000);
    const res = await post(h, JSON.stringify({ query }), acct.secret);
    expect(res.status).toBe(400);
    expect(codes(res.json)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(res.json.errors[0].message).toMatch(/5000 tokens/);
  });

  test('an ordinary query of a few hundred tokens runs', async () => {
    expect(ok(await h.gql(VIEWER, {}, acct.secret)).viewer.key.id).toBe(acct.keyId);
  });
});

describe('configured limits', () => {
  let tight: Harness;
  beforeAll(async () => {
    tight = await startHarness({ db: h.db, app: { graphql: { depth: 4, complexity: 20, perKeyPerMinute: 0, introspection: false } } });
  });
  afterAll(() => tight.close());

  test('GRAPHQL_MAX_DEPTH applies', async () => {
    expect(ok(await tight.gql('{ viewer { key { id } } }', {}, acct.secret)).viewer.key.id).toBe(acct.keyId);
    const res = await tight.gql('{ viewer { key { parent { parent { id } } } } }', {}, acct.secret);
    expect(expectError(res, 'QUERY_TOO_COMPLEX').message).toMatch(/depth 5 exceeds the limit of 4/);
  });

  test('GRAPHQL_MAX_COMPLEXITY applies', async () => {
    const res = await tight.gql('{ keys(first: 50) { edges { node { id name } } } }', {}, acct.secret);
    expect(expectError(res, 'QUERY_TOO_COMPLEX').message).toMatch(/complexity \d+ exceeds the limit of 20/);
  });

  test('introspection off: __schema and __type are refused, and GraphiQL is not served', async () => {
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "ApiKey") { name } }']) {
      const res = await tight.gql(query, {}, acct.secret);
      expect(res.errors?.length).toBeGreaterThan(0);
      expect(res.data ?? null).toBeNull();
    }
    const page = await tight.app.graphql.fetch('http://keywarden.test/graphql', { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('GraphiQL');
  });

  test('a key over its admin budget answers 429 RATE_LIMITED with Retry-After; another key is unaffected', async () => {
    const budgeted = await startHarness({ db: h.db, app: { graphql: { perKeyPerMinute: 5 } } });
    try {
      const other = await h.newAccount('admission-other');
      const key = await createKey(h, acct.secret, { name: 'budget', type: 'DEVELOPMENT', permission: 'MANAGE' });
      for (let i = 0; i < 5; i++) ok(await budgeted.gql('{ viewer { key { id } } }', {}, key.secret));
      const res = await post(budgeted, JSON.stringify({ query: '{ viewer { key { id } } }' }), key.secret);
      expect(res.status).toBe(429);
      expect(codes(res.json)).toEqual(['RATE_LIMITED']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(ok(await budgeted.gql('{ viewer { key { id } } }', {}, other.secret)).viewer.key.id).toBe(other.keyId);
    } finally {
      await budgeted.close();
    }
  });

  test('a signed-in person has one admin budget across sessions; another person and the keys of the account keep theirs', async () => {
    const budgeted = await startHarness({ db: h.db, app: { graphql: { perKeyPerMinute: 4 } } });
    try {
      const person = await signedInOperator(budgeted, acct.accountId, 'ADMIN');
      const { token } = await startSession(h.db, person.id, DEFAULT_SESSION_POLICY, null);
      const secondSession = { cookie: `${SESSION_COOKIE}=${token}`, origin: OWN_ORIGIN };
      const colleague = await signedInOperator(budgeted, acct.accountId, 'ADMIN');
      for (let i = 0; i < 2; i++) ok(await person.gql('{ viewer { operator { id } } }'));
      for (let i = 0; i < 2; i++) ok(await budgeted.gql('{ viewer { operator { id } } }', {}, null, secondSession));
      const refused = await post(budgeted, JSON.stringify({ query: '{ viewer { operator { id } } }' }), null, { cookie: person.cookie, origin: OWN_ORIGIN });
      expect(refused.status).toBe(429);
      expect(codes(refused.json)).toEqual(['RATE_LIMITED']);
      expect(refused.json.errors[0].message).toBe('too many admin requests for this person: at most 4 a minute');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(ok(await colleague.gql('{ viewer { operator { id } } }')).viewer.operator.id).toBe(colleague.id);
      const key = await createKey(h, acct.secret, { name: 'beside-people', type: 'DEVELOPMENT', permission: 'MANAGE' });
      expect(ok(await budgeted.gql('{ viewer { key { id } } }', {}, key.secret)).viewer.key.id).toBe(key.key.id);
    } finally {
      await budgeted.close();
    }
  });

  test('a flood of admin requests runs at most maxConcurrent at once, refuses beyond the line with 503, and verify keeps answering', async () => {
    const narrow = await startHarness({ db: h.db, app: { graphql: { perKeyPerMinute: 0, maxConcurrent: 2, maxQueued: 3 } } });
    try {
      const query = JSON.stringify({ query: '{ keys(first: 2) { edges { node { id } } } }' });
      const flood = Array.from({ length: 20 }, () => post(narrow, query, acct.secret));
      const verify = await narrow.verify({ key: acct.secret, permission: 'READ_ONLY' });
      expect(verify.status).toBe(200);
      const results = await Promise.all(flood);
      const statuses = results.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      const refused = results.find((r) => r.status === 503)!;
      expect(codes(refused.json)).toEqual(['UNAVAILABLE']);
      expect(refused.headers.get('retry-after')).toBe('1');
      const gate = admissionGates.get(narrow.app.graphql)!;
      expect(gate.peak).toBe(2);
      expect(gate.active).toBe(0);
      // Once the flood is over, requests are admitted again.
      expect(ok(await narrow.gql(VIEWER, {}, acct.secret)).viewer.key.id).toBe(acct.keyId);
    } finally {
      await narrow.close();
    }
  });
});
