import { compileCondition, evaluateCondition, validateCondition, type ConditionAttributes } from '../../src/access/condition';
import { CONDITION_STEP_BUDGET } from '../../src/access/condition-cost';
import { KeywardenError } from '../../src/infra/errors';

// README, Verification: a condition's cost is bounded when it is set (nesting, literal sizes,
// estimated iterations of comprehensions over literals and key.metadata alike) and when it runs
// (a key whose metadata would take it over the step budget denies without evaluating it).

const list = (n: number, f = (i: number) => String(i)) => `[${Array.from({ length: n }, (_, i) => f(i)).join(', ')}]`;

function refusal(expr: string): string {
  try {
    validateCondition('input.condition', expr);
  } catch (err) {
    expect(err).toBeInstanceOf(KeywardenError);
    expect((err as KeywardenError).code).toBe('BAD_USER_INPUT');
    return (err as Error).message;
  }
  throw new Error(`expected ${expr.slice(0, 80)}... to be refused`);
}

const attrs = (metadata: Record<string, unknown>, headers: Record<string, string> = {}): ConditionAttributes => ({
  request: { ip: '10.0.0.1', time: Date.parse('2026-01-05T17:30:00Z'), permission: 'READ_ONLY', headers },
  key: { type: 'PRODUCTION', metadata },
});

describe('refused when set', () => {
  test.each<[string, string]>([
    ['.all inside .all inside .all over literal lists', `${list(30)}.all(x, ${list(30)}.all(y, ${list(30)}.all(z, x + y + z >= 0)))`],
    ['exists inside exists_one inside all over literal lists', `${list(40)}.all(x, ${list(40)}.exists_one(y, ${list(40)}.exists(z, x == y && y == z)))`],
    ['map inside filter over literal lists', `${list(90)}.filter(x, ${list(90)}.map(y, ${list(90)}.filter(z, z > y)).size() > x).size() > 0`],
    ['comprehensions over key.metadata', 'key.metadata.a.all(x, key.metadata.a.all(y, key.metadata.a.all(z, x == y)))'],
    ['comprehensions over key.metadata and headers mixed', 'key.metadata.a.exists(x, request.headers.all(h, key.metadata.b.exists(y, y == h)))'],
    ['`in` scanning a metadata list inside two comprehensions', 'key.metadata.a.all(x, key.metadata.b.all(y, y in key.metadata.c))'],
    ['a concatenated list iterated in a comprehension', `(${list(90)} + ${list(90)} + ${list(90)}).all(x, (${list(90)} + ${list(90)}).exists(y, x == y))`],
    ['a map literal iterated inside a list', `${list(90)}.all(x, {${Array.from({ length: 90 }, (_, i) => `${i}: ${i}`).join(', ')}}.all(k, ${list(90)}.exists(y, k == y)))`],
  ])('%s', (_label, expr) => {
    expect(expr.length).toBeLessThan(4096);
    expect(refusal(expr)).toMatch(/too costly/);
  });

  test.each<[string, string]>([
    ['a literal list over 100 elements', `1 in ${list(150)}`],
    ['nesting deeper than 32', `${'('.repeat(40)}true${')'.repeat(40)}`],
    ['more than 1,000 nodes', Array.from({ length: 600 }, () => 'true').join(' && ')],
  ])('%s', (_label, expr) => {
    expect(refusal(expr)).toMatch(/error/);
  });
});

describe('accepted when set', () => {
  test.each(['key.metadata.tags.exists(t, t == "gpu")', `${list(20)}.all(x, ${list(20)}.exists(y, x == y))`, 'request.headers.exists(h, h.startsWith("x-")) && key.metadata.team == "ml"', '"gpu" in key.metadata.tags'])(
    '%s',
    (expr) => {
      expect(() => validateCondition('input.condition', expr)).not.toThrow();
    },
  );
});

describe('bounded when run', () => {
  const scan = compileCondition('key.metadata.tags.exists(t, t == "gpu")');
  const member = compileCondition('"gpu" in key.metadata.tags');

  test('within the budget the condition decides as written', () => {
    expect(evaluateCondition(scan, attrs({ tags: ['eu', 'gpu'] }))).toBe(true);
    expect(evaluateCondition(member, attrs({ tags: [...Array(500).keys()].map(String).concat('gpu') }))).toBe(true);
  });

  test('metadata large enough to take a condition over the budget denies, though the condition would hold', () => {
    const huge = [...Array(CONDITION_STEP_BUDGET).keys()].map(String).concat('gpu');
    expect(evaluateCondition(scan, attrs({ tags: huge }))).toBe(false);
    expect(evaluateCondition(member, attrs({ tags: [...huge, ...huge] }))).toBe(false);
  });

  test('a large collection nested anywhere in the metadata counts', () => {
    const nested = { deep: { deeper: { big: [...Array(3 * CONDITION_STEP_BUDGET).keys()] } }, tags: ['gpu'] };
    expect(evaluateCondition(scan, attrs(nested))).toBe(false);
  });

  test('a condition that iterates nothing from the request is not held back by large metadata', () => {
    const plain = compileCondition('key.metadata.team == "ml"');
    expect(evaluateCondition(plain, attrs({ team: 'ml', big: [...Array(3 * CONDITION_STEP_BUDGET).keys()] }))).toBe(true);
  });
});
