import { HttpError } from '../../src/infra/http';
import { decodeRouteId, normalizeGatewayPath } from '../../src/verify/gateway-path';

// One normalized path for conditions and the upstream: dot segments resolved inside the route,
// one canonical spelling, and refusals for what servers would read differently.

describe('normalizeGatewayPath normalizes', () => {
  test.each<[string, string]>([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/public/../admin', '/admin'],
    ['/public/./a', '/public/a'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin', '/admin'],
    ['/public/.%2e/admin', '/admin'],
    ['/public/%2e./admin', '/admin'],
    ['/public/%2e/a', '/public/a'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/a/b/../../c', '/c'],
    ['//admin', '/admin'],
    ['/public//../admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/%41%42c', '/ABc'],
    ['/a%20b', '/a%20b'],
    ['/a%c3%a9', '/a%C3%A9'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/a;b=c/d', '/a;b=c/d'],
    ['/...', '/...'],
    ['/..a/b', '/..a/b'],
    ['/100%25', '/100%25'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeGatewayPath(input)).toBe(expected);
  });
});

describe('normalizeGatewayPath refuses with 400 BAD_PATH', () => {
  test.each<[string, string]>([
    ['a dot-dot at the root', '/..'],
    ['climbing out of the prefix', '/a/../../b'],
    ['encoded dot-dot climbing out', '/%2e%2e/other-agent/x'],
    ['mixed-case encoded dot-dot climbing out', '/a/%2E%2e/%2e%2E/x'],
    ['an encoded slash', '/a%2fb'],
    ['an encoded slash hiding a climb', '/x%2f..%2f..%2fother/secret'],
    ['an upper-case encoded slash', '/a%2Fb'],
    ['an encoded backslash', '/a%5cb'],
    ['an encoded backslash hiding a climb', '/..%5c..%5cother'],
    ['a raw backslash', '/a\\..\\b'],
    ['a NUL byte', '/a%00.txt'],
    ['a newline', '/a%0d%0aX-Injected:%201'],
    ['a malformed escape', '/a%zz'],
    ['a truncated escape', '/a%2'],
    ['an overlong UTF-8 dot', '/%c0%ae%c0%ae/x'],
    ['a double-encoded dot-dot', '/%252e%252e/x'],
    ['a double-encoded slash', '/a%252fb'],
    ['a dot-dot with parameters', '/public/..;/admin'],
    ['an encoded dot-dot with parameters', '/public/%2e%2e;x=1/admin'],
  ])('%s: %j', (_label, input) => {
    let err: unknown;
    try {
      normalizeGatewayPath(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 400, code: 'BAD_PATH' });
  });
});

describe('decodeRouteId', () => {
  test('decodes an id', () => expect(decodeRouteId('agt%5Fx')).toBe('agt_x'));
  test.each(['%zz', 'a%2fb', '..', '%2e%2e', '.'])('refuses %j', (id) => expect(() => decodeRouteId(id)).toThrow(HttpError));
});
