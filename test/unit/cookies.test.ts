import { safeReturnTo } from '../../src/http/auth';
import { readCookie, serializeCookie } from '../../src/infra/cookies';

test('the session cookie is HttpOnly and SameSite=Lax always, Secure over HTTPS', () => {
  expect(serializeCookie('kw_session', 'abc', { secure: true, maxAge: 3600 })).toBe('kw_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure');
  expect(serializeCookie('kw_session', '', { secure: false, maxAge: 0 })).toBe('kw_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0');
});

test('readCookie finds a cookie among others and tolerates junk', () => {
  expect(readCookie('a=1; kw_session=tok%2Bx; b', 'kw_session')).toBe('tok+x');
  expect(readCookie('kw_session_other=1', 'kw_session')).toBeNull();
  expect(readCookie('kw_session=%E0%A4%A', 'kw_session')).toBeNull();
  expect(readCookie(null, 'kw_session')).toBeNull();
});

test.each([
  ['/dashboard/#/keys', '/dashboard/#/keys'],
  ['//evil.example/x', '/dashboard/'],
  ['/\\evil.example', '/dashboard/'],
  ['https://evil.example/', '/dashboard/'],
  [null, '/dashboard/'],
])('returnTo %s -> %s', (given, expected) => {
  expect(safeReturnTo(given)).toBe(expected);
});
