import { limits } from '../../src/graphql/builder';
import { startHarness, type Harness } from '../helpers/harness';
import { expectError, ok } from '../helpers/gql-fixtures';

// README, Admin API rules: queries beyond the configured limits answer QUERY_TOO_COMPLEX and run nothing.

let h: Harness;
let acct: Awaited<ReturnType<Harness['newAccount']>>;

beforeAll(async () => {
  h = await startHarness();
  acct = await h.newAccount('limits');
});
afterAll(() => h.close());

/** viewer { key { children { edges { node { children { ... { id } } } } } } } with `levels` children levels. */
function nestedChildren(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `id children(first: 1) { edges { node { ${inner} } } }`;
  return `{ viewer { key { ${inner} } } }`;
}

/** The field depth of nestedChildren(levels): viewer, key, then children/edges/node per level, then id. */
const depthOf = (levels: number) => 2 + 3 * levels + 1;

test('a query nested deeper than the depth limit answers QUERY_TOO_COMPLEX and no data', async () => {
  const levels = Math.ceil(limits.depth / 3) + 2;
  expect(depthOf(levels)).toBeGreaterThan(limits.depth);
  const res = await h.gql(nestedChildren(levels), {}, acct.secret);
  const err = expectError(res, 'QUERY_TOO_COMPLEX');
  expect(err.message).toMatch(/depth/i);
  expect(res.data ?? null).toBeNull();
});

test('a very deep query (100 levels) is refused the same way, not by an internal error', async () => {
  const res = await h.gql(nestedChildren(100), {}, acct.secret);
  expectError(res, 'QUERY_TOO_COMPLEX');
});

test('a query just within the depth limit runs', async () => {
  let levels = 0;
  while (depthOf(levels + 1) <= limits.depth) levels++;
  expect(levels).toBeGreaterThanOrEqual(1);
  const res = await h.gql(nestedChildren(levels), {}, acct.secret);
  expect(ok(res).viewer.key.id).toBe(acct.keyId);
});

test('deeply nested fragments count towards the depth as if inlined', async () => {
  const levels = Math.ceil(limits.depth / 3) + 2;
  const frags: string[] = [];
  for (let i = 0; i < levels; i++) {
    const next = i + 1 < levels ? `...F${i + 1}` : 'id';
    frags.push(`fragment F${i} on ApiKey { id children(first: 1) { edges { node { ${next} } } } }`);
  }
  const res = await h.gql(`{ viewer { key { ...F0 } } } ${frags.join(' ')}`, {}, acct.secret);
  expectError(res, 'QUERY_TOO_COMPLEX');
});
