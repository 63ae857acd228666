import { Environment } from '@marcbachmann/cel-js';
import { compileCondition, compileOrDeny, evaluateCondition, validateCondition, type ConditionAttributes } from '../../src/access/condition';
import { KeywardenError } from '../../src/infra/errors';

// Monday 2026-01-05 17:30 UTC
const base: ConditionAttributes = {
  request: {
    ip: '10.1.2.3',
    time: Date.parse('2026-01-05T17:30:00Z'),
    agentId: 'agent-1',
    workflowId: null,
    permission: 'EXECUTE',
    country: 'DE',
    method: 'POST',
    path: '/v1/agents/agent-1/run',
    headers: { 'X-Env': 'prod', accept: ['a', 'b'] },
  },
  key: { type: 'PRODUCTION', metadata: { team: 'ml', tier: 2, tags: ['gpu', 'eu'] } },
};

const withRequest = (r: Partial<ConditionAttributes['request']>): ConditionAttributes => ({ ...base, request: { ...base.request, ...r } });

describe('evaluateCondition', () => {
  it.each<[string, string, ConditionAttributes, boolean]>([
    ['ip prefix', 'request.ip.startsWith("10.")', base, true],
    ['ip prefix, other ip', 'request.ip.startsWith("10.")', withRequest({ ip: '192.168.0.1' }), false],
    ['hour of day (UTC)', 'request.time.getHours() < 18', base, true],
    ['hour of day, later', 'request.time.getHours() < 18', withRequest({ time: Date.parse('2026-01-05T18:00:00Z') }), false],
    ['hour of day in a zone', 'request.time.getHours("Asia/Kolkata") == 23', base, true],
    ['weekday (0 = Sunday)', 'request.time.getDayOfWeek() == 1', base, true],
    ['time as a Date', 'request.time > timestamp("2026-01-01T00:00:00Z")', withRequest({ time: new Date('2026-02-01T00:00:00Z') }), true],
    ['metadata string', 'key.metadata.team == "ml"', base, true],
    ['metadata string, other team', 'key.metadata.team == "ops"', base, false],
    ['metadata number', 'key.metadata.tier >= 2', base, true],
    ['metadata list', '"gpu" in key.metadata.tags', base, true],
    ['metadata presence', 'has(key.metadata.team) && !has(key.metadata.owner)', base, true],
    ['header, lower-cased name', 'request.headers["x-env"] == "prod"', base, true],
    ['repeated header joined', 'request.headers["accept"] == "a, b"', base, true],
    ['header presence', '"x-env" in request.headers', base, true],
    ['permission in list', 'request.permission in ["READ_ONLY","EXECUTE"]', base, true],
    ['permission not in list', 'request.permission in ["READ_ONLY","EXECUTE"]', withRequest({ permission: 'MANAGE' }), false],
    ['key type', 'key.type == "PRODUCTION"', base, true],
    ['country', 'request.country in ["DE", "FR"]', base, true],
    ['unknown country is ""', 'request.country == ""', withRequest({ country: null }), true],
    ['absent workflow is ""', 'request.workflowId == "" && request.agentId == "agent-1"', base, true],
    ['method and path', 'request.method == "POST" && request.path.endsWith("/run")', base, true],
    ['macro over metadata', 'key.metadata.tags.exists(t, t == "eu")', base, true],
    // errors deny
    ['missing header denies', 'request.headers["x-missing"] == "prod"', base, false],
    ['missing metadata key denies', 'key.metadata.owner == "alice"', base, false],
    ['missing key under negation still denies', '!(key.metadata.owner == "alice")', base, false],
    ['no metadata at all denies a metadata test', 'key.metadata.team == "ml"', { ...base, key: { type: 'PRODUCTION', metadata: null } }, false],
    ['dyn result that is not a bool denies', 'key.metadata.team', base, false],
    ['division by zero denies', 'key.metadata.tier / 0 > 1', { ...base, key: { type: 'X', metadata: { tier: 1 } } }, false],
    ['error short-circuited by || passes', 'true || key.metadata.owner == "x"', base, true],
  ])('%s: %s', (_name, expr, attrs, expected) => {
    expect(evaluateCondition(compileCondition(expr), attrs)).toBe(expected);
  });
});

describe('validateCondition', () => {
  it.each([
    'request.ip.startsWith("10.")',
    'request.time.getHours() < 18',
    'key.metadata.team == "ml"',
    'request.headers["x-env"] == "prod"',
    'request.permission in ["READ_ONLY","EXECUTE"]',
    'key.metadata.flag', // dyn: only evaluation can tell
  ])('accepts %s', (expr) => {
    expect(() => validateCondition('input.condition', expr)).not.toThrow();
  });

  it.each<[string, string, RegExp]>([
    ['unfinished expression', 'request.ip == ', /syntax error/],
    ['unbalanced parenthesis', '(request.ip == "1.2.3.4"', /syntax error/],
    ['stray character', 'request.ip = "1.2.3.4"', /syntax error/],
    ['string plus int', 'request.ip + 1 == 2', /type error.*string \+ int/],
    ['unknown variable', 'user.name == "x"', /type error.*Unknown variable: user/],
    ['unknown request field', 'request.user == "x"', /type error.*user/],
    ['wrong argument type', 'request.ip.startsWith(10)', /type error/],
    ['comparing a string with an int', 'request.path < 3', /type error/],
    ['string result', 'request.ip', /must be a boolean expression, not string/],
    ['int result', 'request.time.getHours()', /must be a boolean expression, not int/],
    ['regular expressions (ReDoS)', 'request.path.matches("^(a+)+$")', /matches\(\) is not allowed/],
    ['regular expressions, global form', 'matches(request.path, "a")', /matches/],
  ])('rejects %s', (_name, expr, message) => {
    let error: unknown;
    try {
      validateCondition('input.condition', expr);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KeywardenError);
    expect((error as KeywardenError).code).toBe('BAD_USER_INPUT');
    expect((error as KeywardenError).field).toBe('input.condition');
    expect((error as KeywardenError).message).toMatch(/^input\.condition: /);
    expect((error as KeywardenError).message).toMatch(message);
    expect((error as KeywardenError).message).not.toContain('\n');
  });
});

describe('compiled programs', () => {
  it('are cached by expression text', () => {
    expect(compileCondition('key.type == "DEVELOPMENT"')).toBe(compileCondition('key.type == "DEVELOPMENT"'));
  });

  it('evaluating one 10,000 times neither parses nor type-checks again', () => {
    const program = compileCondition('request.ip.startsWith("10.") && key.metadata.team == "ml"');
    const parse = jest.spyOn(Environment.prototype, 'parse');
    const check = jest.spyOn(Environment.prototype, 'check');
    let passed = 0;
    for (let i = 0; i < 10_000; i++) if (evaluateCondition(program, withRequest({ ip: `10.0.${i >> 8}.${i & 255}` }))) passed++;
    expect(passed).toBe(10_000);
    expect(parse).not.toHaveBeenCalled();
    expect(check).not.toHaveBeenCalled();
    compileCondition('key.type == "SPIED"'); // the spies do see a compilation
    expect(parse).toHaveBeenCalledTimes(1);
    parse.mockRestore();
    check.mockRestore();
  });

  it('compileOrDeny compiles a stored condition, and one that no longer compiles denies everything', () => {
    expect(compileOrDeny(null)).toBeNull();
    expect(compileOrDeny('')).toBeNull();
    expect(evaluateCondition(compileOrDeny('request.method == "POST"')!, base)).toBe(true);
    const broken = compileOrDeny('request.method ==')!;
    expect(broken.expression).toBe('false');
    expect(evaluateCondition(broken, base)).toBe(false);
  });
});
