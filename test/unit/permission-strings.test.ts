import { covers, effectivePermissions, intersectPermissions, normalizePermissionStrings, notCovered, permissionStringProblem } from '../../src/access/permission-strings';
import { PermissionQueryError, parsePermissionQuery, satisfies } from '../../src/access/permission-query';

describe('the grammar of permission strings', () => {
  test.each([['agents.execute'], ['billing.invoices.read'], ['billing.*'], ['*'], ['a1_b-c.d']])('%s is a permission string', (s) => {
    expect(permissionStringProblem(s)).toBeNull();
  });
  test.each([
    ['', 'must not be empty'],
    ['Billing.read', 'must be lower case'],
    ['billing..read', 'empty segment'],
    ['.billing', 'empty segment'],
    ['billing.', 'empty segment'],
    ['billing.*.read', 'only be the last segment'],
    ['*.read', 'only be the last segment'],
    ['billing read', 'has " "'],
    ['billing.re*d', 'has "*"'],
    ['x'.repeat(201), 'at most 200'],
  ])('%j is refused: %s', (s, why) => {
    expect(permissionStringProblem(s)).toContain(why);
  });
  test('a list names the entry at fault, and is de-duplicated and sorted', () => {
    expect(normalizePermissionStrings('input.permissions', ['b.read', 'a.*', 'b.read'])).toEqual(['a.*', 'b.read']);
    expect(() => normalizePermissionStrings('input.permissions', ['a.read', 'A.read'])).toThrow('input.permissions[1]: "A.read" must be lower case');
  });
});

test.each<[string, string, boolean]>([
  ['billing.read', 'billing.read', true],
  ['billing.*', 'billing.read', true],
  ['billing.*', 'billing.invoices.read', true],
  ['billing.*', 'billing.invoices.*', true],
  ['billing.*', 'billing', false],
  ['billing.*', 'billingx.read', false],
  ['billing.read', 'billing.*', false],
  ['*', 'anything.at.all', true],
  ['billing.invoices.*', 'billing.*', false],
])('%s covers %s: %s', (held, wanted, expected) => {
  expect(covers(held, wanted)).toBe(expected);
});

describe('narrowing along a chain', () => {
  test('what every link grants, wildcards narrowed to the tighter side', () => {
    expect(intersectPermissions(['billing.*', 'agents.run'], ['billing.read', 'reports.*'])).toEqual(['billing.read']);
    expect(effectivePermissions([['billing.*', 'agents.run'], ['*'], ['billing.invoices.*', 'agents.run']])).toEqual(['agents.run', 'billing.invoices.*']);
    expect(effectivePermissions([['billing.read'], []])).toEqual([]);
    expect(effectivePermissions([])).toEqual([]);
  });
  test('notCovered lists what a child asks beyond its parent', () => {
    expect(notCovered(['billing.read', 'billing.*', 'agents.run'], ['billing.read', 'agents.*'])).toEqual(['billing.*']);
  });
});

describe('the permission query', () => {
  const held = ['agents.execute', 'billing.read', 'reports.*'];
  test.each<[string, boolean]>([
    ['agents.execute', true],
    ['agents.delete', false],
    ['agents.execute AND billing.read', true],
    ['agents.execute AND billing.write', false],
    ['billing.write OR billing.read', true],
    ['agents.execute AND (billing.read OR billing.write)', true],
    ['agents.delete OR agents.execute AND billing.write', false],
    ['(agents.delete OR agents.execute) AND billing.read', true],
    ['billing.*', true],
    ['reports.monthly.pdf', true],
    ['admin.*', false],
    ['((agents.execute))', true],
  ])('%s: %s', (query, expected) => {
    expect(satisfies(parsePermissionQuery(query), held)).toBe(expected);
  });
  test('AND binds tighter than OR', () => {
    expect(parsePermissionQuery('a OR b AND c')).toEqual({
      kind: 'or',
      items: [
        { kind: 'name', name: 'a' },
        {
          kind: 'and',
          items: [
            { kind: 'name', name: 'b' },
            { kind: 'name', name: 'c' },
          ],
        },
      ],
    });
  });
  test.each([
    ['', 'is empty'],
    ['a AND', 'ends where a permission'],
    ['AND a', 'expected a permission or "(" at position 1'],
    ['(a OR b', 'ends before a ")"'],
    ['a OR b)', 'unexpected ")" at position 7'],
    ['a b', 'unexpected "b" at position 3'],
    ['a && b', 'unexpected "&" at position 3'],
    ['Billing.read', 'must be lower case'],
    ['a.*.b', 'only be the last segment'],
    ['('.repeat(40) + 'a' + ')'.repeat(40), 'nests deeper than 32'],
    ['a OR '.repeat(300) + 'a', 'longer than 1000'],
  ])('%j is malformed: %s', (query, why) => {
    expect(() => parsePermissionQuery(query)).toThrow(PermissionQueryError);
    expect(() => parsePermissionQuery(query)).toThrow(why);
  });
});
